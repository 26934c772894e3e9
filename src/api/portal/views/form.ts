// Add Webhook / Edit Webhook (seed 003): one form for DLR and MO. The server renders it with the
// current values; portal.js shows and hides WhatsApp-only fields, builds the subscription body,
// runs Test Webhook and shows the API's field errors beside their fields.
import type { SubscriptionView } from '../../present.js';
import { html, jsonBlock, type Html } from '../html.js';
import { PRODUCTS, REQUIRED_PARAMS, SEND_METHODS, productLabel, reportType, sendMethod } from '../labels.js';
import { layout, type Frame } from './layout.js';

const AUTH_TYPES = [
  ['none', 'None'],
  ['secret', 'Secret header'],
  ['bearer', 'Bearer token'],
  ['basic', 'Basic (username and password)'],
  ['oauth2', 'OAuth 2.0'],
] as const;

const option = (value: string, label: string, selected: boolean) =>
  html`<option value="${value}" ${selected ? html`selected` : ''}>${label}</option>`;

/** A labelled input with its error slot; `path` is the API field path its errors carry. */
function field(
  id: string,
  label: string,
  path: string,
  value: string | undefined,
  opts: {
    type?: string;
    hint?: string;
    placeholder?: string;
    required?: boolean;
    autocomplete?: string;
  } = {},
): Html {
  return html`<div class="field" data-field="${id}">
    <label for="${id}">${label}</label>
    <input
      id="${id}"
      name="${id}"
      type="${opts.type ?? 'text'}"
      data-path="${path}"
      value="${value ?? ''}"
      ${opts.placeholder ? html`placeholder="${opts.placeholder}"` : ''}
      ${opts.required ? html`required` : ''}
      autocomplete="${opts.autocomplete ?? 'off'}"
      ${opts.hint ? html`aria-describedby="${id}-hint"` : ''}
    />
    ${opts.hint ? html`<p class="hint" id="${id}-hint">${opts.hint}</p>` : ''}
  </div>`;
}

const PAIRS = {
  param: {
    plural: 'params',
    path: '/customParams',
    toggle: 'Add Custom Parameters',
    name: 'Parameter name',
    value: 'Parameter value',
    noun: 'parameter',
  },
  header: {
    plural: 'headers',
    path: '/customHeaders',
    toggle: 'Add Custom Headers',
    name: 'Header name',
    value: 'Header value',
    noun: 'header',
  },
} as const;

/** The "Add Custom …" checkbox and its name/value rows (one empty row when there are none). */
function pairSection(kind: keyof typeof PAIRS, entries: [string, string][]): Html {
  const p = PAIRS[kind];
  const rows = entries.length ? entries : [['', '']];
  return html`<div class="check">
      <input
        type="checkbox"
        id="add-${p.plural}"
        ${entries.length ? html`checked` : ''}
        aria-controls="${p.plural}-rows"
      />
      <label for="add-${p.plural}">${p.toggle}</label>
    </div>
    <div id="${p.plural}-rows" class="pairs" data-path="${p.path}" ${entries.length ? '' : html`hidden`}>
      ${rows.map(
        ([k, v], i) =>
          html`<div class="pair" data-pair="${kind}">
            <div class="field">
              <label for="${kind}-name-${i}">${p.name}</label>
              <input id="${kind}-name-${i}" class="pair-name" value="${k}" autocomplete="off" />
            </div>
            <div class="field">
              <label for="${kind}-value-${i}">${p.value}</label>
              <input id="${kind}-value-${i}" class="pair-value" value="${v}" autocomplete="off" />
            </div>
            <button type="button" class="remove-pair" aria-label="Remove this ${p.noun}">Remove</button>
          </div>`,
      )}
      <button type="button" class="add-more" data-kind="${kind}">Add More</button>
    </div>`;
}

export function formView(sub: SubscriptionView | undefined, frame: Frame) {
  const editing = sub !== undefined;
  const channels = sub?.channels ?? [];
  const product = channels.length === 1 ? channels[0]! : editing ? '*keep' : 'sms';
  const report = sub ? reportType(sub) : 'DLR';
  const method = sub ? sendMethod(sub) : 'POST';
  const auth = sub?.authType ?? 'none';
  const o = sub?.oauth2;
  const params = Object.entries(sub?.customParams ?? {});
  const headers = Object.entries(sub?.customHeaders ?? {});
  const title = editing ? 'Edit Webhook' : 'Add Webhook';

  const body = html`<h1>${title}</h1>
    ${editing ? html`<p class="sub">Webhook <code>${sub.id}</code></p>` : ''}
    <form id="webhook-form" class="card" novalidate data-id="${sub?.id ?? ''}">
      <div id="form-errors" class="form-errors" role="alert" tabindex="-1" hidden></div>
      <fieldset>
        <legend>Webhook</legend>
        <div class="grid">
          <div class="field">
            <label for="product">Product</label>
            <select id="product" data-path="/channels">
              ${product === '*keep' ? option('*keep', productLabel(sub!), true) : ''}
              ${PRODUCTS.map(([v, l]) => option(v, l, v === product))}
            </select>
          </div>
          <div class="field">
            <label for="send-method">Webhook Server Send Method</label>
            <select id="send-method" data-path="/method">
              ${Object.entries(SEND_METHODS).map(([k, m]) => option(k, m.label, k === method))}
            </select>
          </div>
          <div class="field">
            <label for="report-type">Webhook Report Type</label>
            <select id="report-type" data-path="/events" aria-describedby="report-type-hint">
              ${option('DLR', 'DLR (delivery reports)', report === 'DLR')}
              ${option('MO', 'MO (replies)', report === 'MO')}
              ${report === 'Custom' ? option('Custom', `Custom: ${sub!.events.join(', ')}`, true) : ''}
            </select>
            <p class="hint" id="report-type-hint">MO is not available for SMS.</p>
          </div>
          <div class="field" data-whatsapp-only>
            <label for="waba">Waba Number</label>
            <input
              id="waba"
              data-path="/senders"
              value="${(sub?.senders ?? [])[0] ?? ''}"
              inputmode="tel"
              autocomplete="off"
              aria-describedby="waba-hint"
            />
            <p class="hint" id="waba-hint">
              Only messages sent from this WhatsApp Business number. Empty: every number.
            </p>
          </div>
        </div>
        ${field('webhook-url', 'Webhook (URL Endpoint)', '/webhookUrl', sub?.webhookUrl, {
          type: 'url',
          placeholder: 'https://example.com/webhooks/dlr',
          required: true,
          hint: 'The full URL, including https://, where reports are sent.',
        })}
        ${field('description', 'Description (optional)', '/description', sub?.description)}
      </fieldset>

      <fieldset id="required-params" data-dlr-only>
        <legend>Required Parameters</legend>
        <p class="hint">The parameter names your endpoint expects. Empty: Hookline’s own name (shown).</p>
        <div class="grid">
          ${REQUIRED_PARAMS.map(
            ([f, label, waOnly]) =>
              html`<div class="field" ${waOnly ? html`data-whatsapp-only` : ''}>
                <label for="param-${f}">${label}</label>
                <input
                  id="param-${f}"
                  data-param="${f}"
                  data-path="/fieldNames/${f}"
                  value="${sub?.fieldNames?.[f] ?? ''}"
                  placeholder="${f}"
                  autocomplete="off"
                />
              </div>`,
          )}
        </div>
      </fieldset>

      <fieldset>
        <legend>Custom Parameters &amp; Headers (optional)</legend>
        ${pairSection('param', params)} ${pairSection('header', headers)}
      </fieldset>

      <fieldset>
        <legend>Authentication</legend>
        <div class="field">
          <label for="auth-type">Authentication</label>
          <select id="auth-type" data-path="/authType">
            ${AUTH_TYPES.map(([v, l]) => option(v, l, v === auth))}
          </select>
        </div>
        <div class="grid" data-auth="secret">
          ${field('secret-header', 'Secret header name', '/secret/headerName', sub?.secret?.headerName, { placeholder: 'X-Webhook-Secret' })}
          ${field('secret-value', 'Secret value', '/secret/value', sub?.secret?.value)}
        </div>
        <div class="grid" data-auth="bearer">
          ${field('bearer-token', 'Bearer token', '/bearer/token', sub?.bearer?.token)}
        </div>
        <div class="grid" data-auth="basic">
          ${field('basic-username', 'Username', '/basic/username', sub?.basic?.username)}
          ${field('basic-password', 'Password', '/basic/password', sub?.basic?.password, { type: 'password', autocomplete: 'new-password' })}
        </div>
        <div class="grid" data-auth="oauth2">
          <div class="field">
            <label for="oauth2-grant">Grant type</label>
            <select id="oauth2-grant" data-path="/oauth2/grantType">
              ${option('client_credentials', 'Client credentials', o?.grantType !== 'refresh_token')}
              ${option('refresh_token', 'Refresh token', o?.grantType === 'refresh_token')}
            </select>
          </div>
          ${field('oauth2-token-url', 'Token URL', '/oauth2/tokenUrl', o?.tokenUrl, { type: 'url' })}
          ${field('oauth2-client-id', 'Client ID', '/oauth2/clientId', o?.clientId)}
          ${field('oauth2-client-secret', 'Client secret', '/oauth2/clientSecret', o?.clientSecret)}
          ${field('oauth2-refresh-token', 'Refresh token', '/oauth2/refreshToken', o?.refreshToken, { hint: 'For the refresh token grant.' })}
          ${field('oauth2-scopes', 'Scopes (space separated)', '/oauth2/scopes', o?.scopes?.join(' '))}
          ${field('oauth2-audience', 'Audience (optional)', '/oauth2/audience', o?.audience)}
          <div class="field">
            <label for="oauth2-auth-method">Client authentication</label>
            <select id="oauth2-auth-method" data-path="/oauth2/authMethod">
              ${option('client_secret_basic', 'HTTP Basic (client_secret_basic)', o?.authMethod !== 'client_secret_post')}
              ${option('client_secret_post', 'In the body (client_secret_post)', o?.authMethod === 'client_secret_post')}
            </select>
          </div>
        </div>
      </fieldset>

      <div class="row buttons">
        <button type="button" id="test-webhook">Test Webhook</button>
        <button type="submit" class="primary" id="save">${editing ? 'Save Changes' : 'Save'}</button>
        <a class="button" href="/portal">Cancel</a>
      </div>
      <section id="test-response" class="test-response" aria-live="polite" hidden>
        <h2>Webhook Test Response</h2>
        <div class="test-body"></div>
      </section>
    </form>
    ${jsonBlock('current', sub ?? null)}`;
  return layout(title, body, { ...frame, current: editing ? undefined : 'new' });
}
