// The portal's script (served as /portal/assets/portal.js): the webhook form's dynamic parts
// (WhatsApp-only fields, MO not for SMS, Add More rows, auth sections), building the
// subscription body, Save and Test Webhook through /portal/api with the CSRF header, the API's
// field errors shown beside their fields, and Reveal on View Details. Plain ES2017, no framework.
// The Report Type and Send Method words come from labels.ts, as the server-rendered form's do.
import { DLR_EVENTS, MO_EVENTS, SEND_METHODS } from '../labels.js';

const METHODS = Object.fromEntries(Object.entries(SEND_METHODS).map(([k, m]) => [k, [m.method, m.encoding]]));

export const PORTAL_JS = String.raw`
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';
  var DLR = ${JSON.stringify(DLR_EVENTS)};
  var MO = ${JSON.stringify(MO_EVENTS)};
  var METHODS = ${JSON.stringify(METHODS)};
  var READ_ONLY = ['id', 'tenantId', 'status', 'disabledReason', 'createdAt', 'updatedAt', 'deletedAt'];
  var ALIASES = { '/encoding': '/method', '/secret': '/authType', '/bearer': '/authType', '/basic': '/authType', '/oauth2': '/authType' };

  function $(id) { return document.getElementById(id); }
  function val(id) { var el = $(id); return el ? el.value : ''; }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function call(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.text().then(function (t) {
        var parsed = null;
        try { parsed = t ? JSON.parse(t) : null; } catch (e) { parsed = { detail: t }; }
        return { status: r.status, ok: r.ok, body: parsed };
      });
    });
  }

  // View Details: reveal the signing secret.
  var reveal = $('reveal-secret');
  if (reveal) {
    reveal.addEventListener('click', function () {
      call('POST', '/portal/api/webhooks/' + encodeURIComponent(reveal.getAttribute('data-id')) + '/secret').then(function (r) {
        $('signing-secret').textContent = r.ok ? r.body.signingSecret : 'Could not show it: ' + ((r.body && r.body.detail) || r.status);
      });
    });
  }

  var form = $('webhook-form');
  if (!form) return;
  var id = form.getAttribute('data-id');
  var current = JSON.parse($('current').textContent || 'null');
  var rowCount = 100;

  function sync() {
    var product = val('product');
    var whatsapp = product === 'whatsapp';
    var report = $('report-type');
    var mo = report.querySelector('option[value="MO"]');
    mo.disabled = product === 'sms';
    if (mo.disabled && report.value === 'MO') report.value = 'DLR';
    document.querySelectorAll('[data-whatsapp-only]').forEach(function (e) { e.hidden = !whatsapp; });
    document.querySelectorAll('[data-dlr-only]').forEach(function (e) { e.hidden = report.value !== 'DLR'; });
    var auth = val('auth-type');
    document.querySelectorAll('[data-auth]').forEach(function (e) { e.hidden = e.getAttribute('data-auth') !== auth; });
    $('params-rows').hidden = !$('add-params').checked;
    $('headers-rows').hidden = !$('add-headers').checked;
  }
  form.addEventListener('change', sync);
  sync();

  form.addEventListener('click', function (ev) {
    var t = ev.target;
    if (t.classList.contains('add-more')) {
      var rows = t.parentNode.querySelectorAll('[data-pair]');
      var copy = rows[rows.length - 1].cloneNode(true);
      rowCount += 1;
      copy.querySelectorAll('input').forEach(function (input) {
        var newId = input.id.replace(/-\d+$/, '-' + rowCount);
        var label = copy.querySelector('label[for="' + input.id + '"]');
        if (label) label.setAttribute('for', newId);
        input.id = newId;
        input.value = '';
        input.removeAttribute('aria-invalid');
      });
      t.parentNode.insertBefore(copy, t);
      copy.querySelector('input').focus();
    } else if (t.classList.contains('remove-pair')) {
      var box = t.parentNode.parentNode;
      if (box.querySelectorAll('[data-pair]').length > 1) {
        t.parentNode.remove();
        // Keyboard users keep their place: focus moves to this list's Add More.
        box.querySelector('.add-more').focus();
      } else {
        t.parentNode.querySelectorAll('input').forEach(function (i) { i.value = ''; });
      }
    }
  });

  function pairs(containerId) {
    var out = {};
    var n = 0;
    $(containerId).querySelectorAll('[data-pair]').forEach(function (row) {
      var k = row.querySelector('.pair-name').value.trim();
      var v = row.querySelector('.pair-value').value;
      if (k || v) { out[k] = v; n += 1; }
    });
    return n ? out : undefined;
  }

  function build() {
    var body = {};
    if (current) {
      Object.keys(current).forEach(function (k) { if (READ_ONLY.indexOf(k) < 0) body[k] = current[k]; });
    } else {
      body.format = 'params';
    }
    var product = val('product');
    if (product !== '*keep') body.channels = [product];
    var m = METHODS[val('send-method')];
    body.method = m[0];
    body.encoding = m[1];
    var report = val('report-type');
    // DLR kept as DLR keeps the stored subset (e.g. only message.delivered): saving must not widen it.
    var dlrBefore = current && current.events.length && current.events.every(function (e) { return DLR.indexOf(e) >= 0; });
    if (report === 'DLR') body.events = dlrBefore ? current.events.slice() : DLR.slice();
    if (report === 'MO') body.events = MO.slice();
    var was = current && current.channels && current.channels.length === 1 ? current.channels[0] : null;
    if (product === 'whatsapp') {
      var waba = val('waba').trim();
      // The field shows the first number: left as it was, every stored number is kept.
      var same = was === 'whatsapp' && current.senders && current.senders[0] === waba;
      body.senders = same ? current.senders : waba ? [waba] : [];
    } else if (was === 'whatsapp' && product !== '*keep') {
      // A WABA number would filter out every message of the new product.
      delete body.senders;
    }
    body.webhookUrl = val('webhook-url').trim();
    var desc = val('description').trim();
    if (desc) body.description = desc; else delete body.description;
    if (report === 'DLR') {
      var names = {};
      document.querySelectorAll('[data-param]').forEach(function (input) {
        var waOnly = input.closest('[data-whatsapp-only]');
        var f = input.getAttribute('data-param');
        if (!waOnly || product === 'whatsapp') {
          if (input.value.trim()) names[f] = input.value.trim();
        } else if (was !== 'whatsapp' && current && current.fieldNames && current.fieldNames[f]) {
          // Hidden here, set through the API: a save of other fields keeps it.
          names[f] = current.fieldNames[f];
        }
      });
      if (Object.keys(names).length) body.fieldNames = names; else delete body.fieldNames;
    }
    var params = $('add-params').checked ? pairs('params-rows') : undefined;
    if (params) body.customParams = params; else delete body.customParams;
    var headers = $('add-headers').checked ? pairs('headers-rows') : undefined;
    if (headers) body.customHeaders = headers; else delete body.customHeaders;
    var auth = val('auth-type');
    ['secret', 'bearer', 'basic', 'oauth2'].forEach(function (k) { delete body[k]; });
    body.authType = auth;
    if (auth === 'secret') {
      body.secret = { value: val('secret-value') };
      if (val('secret-header').trim()) body.secret.headerName = val('secret-header').trim();
    } else if (auth === 'bearer') {
      body.bearer = { token: val('bearer-token') };
    } else if (auth === 'basic') {
      body.basic = { username: val('basic-username'), password: val('basic-password') };
    } else if (auth === 'oauth2') {
      var o = {
        grantType: val('oauth2-grant'),
        tokenUrl: val('oauth2-token-url').trim(),
        clientId: val('oauth2-client-id').trim(),
        clientSecret: val('oauth2-client-secret'),
        authMethod: val('oauth2-auth-method')
      };
      if (val('oauth2-refresh-token')) o.refreshToken = val('oauth2-refresh-token');
      var scopes = val('oauth2-scopes').trim();
      if (scopes) o.scopes = scopes.split(/\s+/);
      if (val('oauth2-audience').trim()) o.audience = val('oauth2-audience').trim();
      if (current && current.oauth2 && current.oauth2.expiresIn) o.expiresIn = current.oauth2.expiresIn;
      body.oauth2 = o;
    }
    return body;
  }

  function words(message) {
    return String(message)
      .replace(/^must NOT have fewer than 1 characters?$/, 'is required')
      .replace(/^must NOT have fewer than (\d+) characters$/, 'must have at least $1 characters')
      .replace(/^must NOT have more than (\d+) characters$/, 'must have at most $1 characters')
      .replace(/^must NOT have more than (\d+) (items|properties)$/, 'allows at most $1 entries');
  }

  function clearErrors() {
    form.querySelectorAll('.field-error').forEach(function (e) { e.remove(); });
    form.querySelectorAll('[aria-invalid]').forEach(function (e) {
      e.removeAttribute('aria-invalid');
      var d = (e.getAttribute('aria-describedby') || '').split(' ').filter(function (x) { return x && !/-error$/.test(x); });
      if (d.length) e.setAttribute('aria-describedby', d.join(' ')); else e.removeAttribute('aria-describedby');
    });
    var box = $('form-errors');
    box.hidden = true;
    box.textContent = '';
  }

  function target(path) {
    var p = ALIASES[path] || path;
    while (p) {
      var found = form.querySelector('[data-path="' + p.replace(/"/g, '') + '"]');
      if (found && !found.closest('[hidden]')) return found;
      p = p.lastIndexOf('/') > 0 ? p.slice(0, p.lastIndexOf('/')) : '';
      p = ALIASES[p] || p;
    }
    return null;
  }

  function labelOf(node) {
    var l = node.id ? form.querySelector('label[for="' + node.id + '"]') : null;
    return l ? l.textContent.trim() : '';
  }

  function showErrors(problem) {
    clearErrors();
    var loose = [];
    var first = null;
    (problem && problem.errors ? problem.errors : []).forEach(function (e) {
      var t = target(e.path);
      var text = words(e.message);
      if (!t) { loose.push(e.path + ': ' + text); return; }
      var p = el('p', text, 'field-error');
      if (t.tagName === 'INPUT' || t.tagName === 'SELECT') {
        p.id = t.id + '-error';
        t.setAttribute('aria-invalid', 'true');
        t.setAttribute('aria-describedby', ((t.getAttribute('aria-describedby') || '') + ' ' + p.id).trim());
        t.insertAdjacentElement('afterend', p);
        if (!first) first = t;
      } else {
        t.appendChild(p);
      }
    });
    var box = $('form-errors');
    var summary = problem && problem.status === 401 ? 'Your session has expired: ask for a new link.' :
      (problem && problem.errors ? 'Please correct the fields marked below.' : (problem && problem.detail) || 'Something went wrong.');
    box.appendChild(el('p', summary));
    loose.forEach(function (m) { box.appendChild(el('p', m)); });
    box.hidden = false;
    (first || box).focus && (first || box).focus();
    if (!first) box.scrollIntoView();
  }

  function headerList(h) {
    var ul = el('ul', undefined, 'plain headers');
    Object.keys(h || {}).forEach(function (k) { ul.appendChild(el('li', k + ': ' + h[k])); });
    return ul;
  }

  function showTest(result) {
    var section = $('test-response');
    var out = section.querySelector('.test-body');
    out.textContent = '';
    section.className = 'test-response ' + (result.ok ? 'ok' : 'bad');
    var status = result.response.status === null ? 'No answer' : 'Status ' + result.response.status;
    out.appendChild(el('p', status + ' in ' + Math.round(result.durationMs) + ' ms' + (result.ok ? ': accepted' : ''), 'test-status'));
    if (result.error) out.appendChild(el('p', result.error.code + ': ' + result.error.message, 'error-text'));
    out.appendChild(el('h4', 'Response headers'));
    out.appendChild(headerList(result.response.headers));
    out.appendChild(el('h4', 'Response body'));
    out.appendChild(el('pre', (result.response.body || '(empty)').slice(0, 2048), 'body test-response-body'));
    out.appendChild(el('h4', 'Request sent'));
    out.appendChild(el('p', result.request.method + ' ' + result.request.url));
    out.appendChild(headerList(result.request.headers));
    if (result.request.body) out.appendChild(el('pre', result.request.body, 'body'));
    section.hidden = false;
  }

  $('test-webhook').addEventListener('click', function () {
    var button = $('test-webhook');
    button.disabled = true;
    button.textContent = 'Testing…';
    clearErrors();
    call('POST', '/portal/api/test' + (id ? '?id=' + encodeURIComponent(id) : ''), build()).then(function (r) {
      if (r.ok) showTest(r.body); else showErrors(r.body || { status: r.status });
    }).catch(function () { showErrors({ detail: 'The test could not be sent (network error).' }); })
      .then(function () { button.disabled = false; button.textContent = 'Test Webhook'; });
  });

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var button = $('save');
    button.disabled = true;
    clearErrors();
    var req = id ? call('PUT', '/portal/api/webhooks/' + encodeURIComponent(id), build()) : call('POST', '/portal/api/webhooks', build());
    req.then(function (r) {
      if (r.ok) {
        window.location.assign(id ? '/portal/webhooks/' + encodeURIComponent(id) + '?done=saved' : '/portal?done=created');
      } else {
        showErrors(r.body || { status: r.status });
        button.disabled = false;
      }
    }).catch(function () { showErrors({ detail: 'Could not save (network error).' }); button.disabled = false; });
  });
})();
`;
