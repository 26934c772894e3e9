// The portal's buttons over plain HTTP: Test Webhook on an edit (masked secrets stand for the
// stored ones, signed with the webhook's own secret), rotate, pause/resume, recover a window,
// retry a delivery; another tenant's delivery is "not found".
import { Webhook } from 'standardwebhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import { withHarnessAndReceiver, type Harness } from '../helpers/harness.js';
import type { Receiver } from '../helpers/receiver.js';

let h: Harness;
let rx: Receiver;
let cookie: string;
let csrf: string;
const tenant = `t_portal_actions_${Date.now()}`;

withHarnessAndReceiver((started) => ({ h, rx } = started));
beforeAll(async () => {
  rx.respond((req) => (req.path === '/fail' ? { status: 500, body: 'nope' } : { status: 200 }));
  ({ cookie, csrf } = await signIn(tenant));
});

/** Mints a link for `tenantId`, opens it and returns the session cookie and the page's CSRF token. */
async function signIn(tenantId: string) {
  const minted = await h.request<{ url: string }>({
    method: 'POST',
    url: '/v1/portal/sessions',
    body: { tenantId },
  });
  const u = new URL(minted.body.url);
  const start = await h.hookline.app!.inject({ method: 'GET', url: `${u.pathname}${u.search}` });
  const c = String(start.headers['set-cookie']).split(';')[0]!;
  const list = await h.hookline.app!.inject({ method: 'GET', url: '/portal', headers: { cookie: c } });
  return { cookie: c, csrf: /name="csrf-token" content="([^"]+)"/.exec(list.body)![1]! };
}

const post = (url: string, form: Record<string, string> = {}) =>
  h.hookline.app!.inject({
    method: 'POST',
    url,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: csrf, ...form }).toString(),
  });

/** A JSON call of portal.js (the session cookie and the CSRF header). */
const api = (url: string, body: unknown) =>
  h.hookline.app!.inject({
    method: 'POST',
    url,
    headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': csrf },
    payload: JSON.stringify(body),
  });

/** Waits until the newest delivery of `subId` passes `ok` and returns it. */
const newestDelivery = (subId: string, ok: (d: { id: string; status: string }) => boolean) =>
  h.until(async () => {
    const res = await h.request<{ data: { id: string; status: string }[] }>({
      method: 'GET',
      url: `/v1/subscriptions/${subId}/deliveries?tenantId=${tenant}`,
    });
    const d = res.body.data?.[0];
    return d && ok(d) ? d : undefined;
  });

async function createSub(path: string, extra: Record<string, unknown> = {}) {
  const res = await h.request<{ id: string; signingSecret: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenant}`,
    body: { webhookUrl: `${rx.url}${path}`, events: ['message.delivered'], ...extra },
  });
  expect(res.status, res.raw).toBe(201);
  return res.body;
}

describe('portal actions', () => {
  it('tests an edited form with the stored secrets and the webhook’s own signature', async () => {
    const sub = await createSub('/edit', { customHeaders: { 'X-Key': 'stored-secret-123456' } });
    const view = await h.request<Record<string, unknown>>({
      method: 'GET',
      url: `/v1/subscriptions/${sub.id}?tenantId=${tenant}`,
    });
    const { id: _i, tenantId: _t, status: _s, createdAt: _c, updatedAt: _u, ...body } = view.body;
    expect((body.customHeaders as Record<string, string>)['X-Key']).toBe('stor****');
    const test = (form: Record<string, unknown>) => api(`/portal/api/test?id=${sub.id}`, form);
    const before = rx.requests.length;
    // The stored header value (a secret) does not follow a new address unless the form carries it.
    const refused = await test({ ...body, webhookUrl: `${rx.url}/edit-draft` });
    expect(refused.statusCode, refused.body).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({
      code: 'validation_error',
      errors: [{ path: '/customHeaders/X-Key' }],
    });
    expect(rx.requests.slice(before).some((r) => r.path === '/edit-draft')).toBe(false);
    // The webhook's own address: the stored secret is sent, and the test is signed with its secret.
    const res = await test(body);
    expect(res.statusCode, res.body).toBe(200);
    const result = JSON.parse(res.body) as { ok: boolean; request: { headers: Record<string, string> } };
    expect(result.ok).toBe(true);
    expect(JSON.stringify(result)).not.toContain('stored-secret-123456');
    const [got] = (await rx.waitFor(before + 1)).slice(before);
    expect(got!.path).toBe('/edit');
    expect(got!.headers['x-key']).toBe('stored-secret-123456');
    const headers = Object.fromEntries(Object.entries(got!.headers).map(([k, v]) => [k, String(v)]));
    expect(() => new Webhook(sub.signingSecret).verify(got!.body, headers)).not.toThrow();
    // A new address with the header typed again is tested.
    const moved = await test({
      ...body,
      webhookUrl: `${rx.url}/edit-draft`,
      customHeaders: { 'X-Key': 'typed-again-123456' },
    });
    expect(moved.statusCode, moved.body).toBe(200);
    const [draft] = (await rx.waitFor(before + 2)).slice(before + 1);
    expect(draft!.path).toBe('/edit-draft');
    expect(draft!.headers['x-key']).toBe('typed-again-123456');
    // Nothing was saved.
    const after = await h.hookline.ctx.subscriptionStore.get(sub.id);
    expect(after?.webhookUrl).toBe(`${rx.url}/edit`);
  });

  it('Test Webhook applies the SSRF guard of a save, for a new form and an edit', async () => {
    const sub = await createSub('/ssrf');
    const before = rx.requests.length;
    // The harness allows 127.0.0.1/32 and ::1/128 only: 127.0.0.2 is another loopback address.
    for (const url of [`/portal/api/test`, `/portal/api/test?id=${sub.id}`]) {
      for (const webhookUrl of [`http://127.0.0.2:${rx.port}/x`, `http://[::ffff:127.0.0.2]:${rx.port}/x`]) {
        const res = await api(url, { webhookUrl, events: ['message.delivered'] });
        expect(res.statusCode, `${url} ${webhookUrl}`).toBe(400);
        expect(JSON.parse(res.body)).toMatchObject({
          code: 'ssrf_blocked',
          errors: [{ path: '/webhookUrl' }],
        });
      }
    }
    expect(rx.requests.length).toBe(before);
  });

  it('rotates the secret, pauses and resumes', async () => {
    const sub = await createSub('/rotate');
    const readSecret = async () =>
      (
        await h.request<{ signingSecret: string }>({
          method: 'GET',
          url: `/v1/subscriptions/${sub.id}/secret?tenantId=${tenant}`,
        })
      ).body.signingSecret;
    // Another tenant's session cannot rotate it.
    const other = await signIn(`${tenant}_rotate_other`);
    const foreign = await h.hookline.app!.inject({
      method: 'POST',
      url: `/portal/webhooks/${sub.id}/rotate-secret`,
      headers: { cookie: other.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: other.csrf }).toString(),
    });
    expect(foreign.statusCode).toBe(404);
    expect(await readSecret()).toBe(sub.signingSecret);
    expect((await post(`/portal/webhooks/${sub.id}/rotate-secret`)).headers.location).toBe(
      `/portal/webhooks/${sub.id}?done=rotated`,
    );
    const rotated = await readSecret();
    expect(rotated).not.toBe(sub.signingSecret);
    const reveal = await api(`/portal/api/webhooks/${sub.id}/secret`, {});
    expect(JSON.parse(reveal.body)).toEqual({ signingSecret: rotated });
    expect((await post(`/portal/webhooks/${sub.id}/pause`)).headers.location).toBe(
      `/portal/webhooks/${sub.id}?done=paused`,
    );
    expect((await h.hookline.ctx.subscriptionStore.get(sub.id))?.status).toBe('paused');
    expect((await post(`/portal/webhooks/${sub.id}/resume`)).statusCode).toBe(303);
    expect((await h.hookline.ctx.subscriptionStore.get(sub.id))?.status).toBe('active');
  });

  it('recovers a window of failed deliveries and retries one', async () => {
    const sub = await createSub('/fail', { maxRetries: 0 });
    const evt = await h.request<{ id: string }>({
      method: 'POST',
      url: '/v1/events',
      body: { tenantId: tenant, type: 'message.delivered', channel: 'sms', messageId: 'm_fail' },
    });
    expect(evt.status).toBe(202);
    const failed = await newestDelivery(sub.id, (d) => d.status === 'failed');
    const page = await h.hookline.app!.inject({
      method: 'GET',
      url: `/portal/deliveries/${failed.id}`,
      headers: { cookie },
    });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Attempt 1: 500');
    expect(page.body).toContain('nope');

    const hits = rx.requests.filter((r) => r.path === '/fail').length;
    const since = new Date(Date.now() - 3_600_000).toISOString().slice(0, 16);
    const recovered = await post(`/portal/webhooks/${sub.id}/recover`, { since });
    expect(recovered.statusCode, recovered.body).toBe(303);
    await rx.waitFor(hits + 1, { filter: (r) => r.path === '/fail' });

    const redriven = await newestDelivery(sub.id, (d) => d.id !== failed.id && d.status === 'failed');
    const retried = await post(`/portal/deliveries/${redriven.id}/retry`);
    expect(retried.statusCode, retried.body).toBe(303);
    expect(retried.headers.location).toMatch(/^\/portal\/deliveries\/dlv_.+\?done=retried$/);
    await rx.waitFor(hits + 2, { filter: (r) => r.path === '/fail' });

    // Another tenant's session sees none of it.
    const { cookie: otherCookie } = await signIn(`${tenant}_other`);
    const peek = await h.hookline.app!.inject({
      method: 'GET',
      url: `/portal/deliveries/${failed.id}`,
      headers: { cookie: otherCookie },
    });
    expect(peek.statusCode).toBe(404);
    expect(peek.body).not.toContain('nope');
  });

  it('shows the request of a delivery with every header, credentials masked', async () => {
    const sub = await createSub('/shown', {
      authType: 'bearer',
      bearer: { token: 'bearer-token-0123456789' },
      customHeaders: { 'X-Api-Key': 'api-key-0123456789' },
    });
    const evt = await h.request({
      method: 'POST',
      url: '/v1/events',
      body: { tenantId: tenant, type: 'message.delivered', channel: 'sms', messageId: 'm_shown' },
    });
    expect(evt.status).toBe(202);
    const done = await newestDelivery(sub.id, (d) => d.status === 'succeeded');
    const page = await h.hookline.app!.inject({
      method: 'GET',
      url: `/portal/deliveries/${done.id}`,
      headers: { cookie },
    });
    expect(page.statusCode).toBe(200);
    const request = page.body.slice(
      page.body.indexOf('<h2>Request</h2>'),
      page.body.indexOf('<h2>Attempts</h2>'),
    );
    expect(request).toContain('authorization: Bearer bear****');
    expect(request).toContain('x-api-key: api-****');
    expect(request).toMatch(/user-agent: Hookline\//);
    expect(request).toContain('webhook-signature: v1,… (signed at each attempt)');
    expect(page.body).not.toContain('bearer-token-0123456789');
    expect(page.body).not.toContain('api-key-0123456789');
  });

  it('pages Manage Webhooks 20 at a time', async () => {
    const { cookie: c } = await signIn(`${tenant}_many`);
    for (let i = 0; i < 21; i++) {
      const res = await h.request({
        method: 'POST',
        url: `/v1/subscriptions?tenantId=${tenant}_many`,
        body: { webhookUrl: `${rx.url}/many/${i}`, events: ['message.delivered'] },
      });
      expect(res.status).toBe(201);
    }
    const first = await h.hookline.app!.inject({ method: 'GET', url: '/portal', headers: { cookie: c } });
    expect(first.body.match(/<tr>/g)?.length).toBe(21); // the header row and 20
    const next = /href="(\/portal\?cursor=[^"]+)">Next page/.exec(first.body)![1]!.replace(/&amp;/g, '&');
    const second = await h.hookline.app!.inject({ method: 'GET', url: next, headers: { cookie: c } });
    expect(second.statusCode).toBe(200);
    expect(second.body.match(/<tr>/g)?.length).toBe(2);
    expect(second.body).toContain('First page');
    expect(second.body).not.toContain('Next page');
  });

  it('signs out: the cookie is cleared and the session is gone', async () => {
    const { cookie: c, csrf: token } = await signIn(tenant);
    const out = await h.hookline.app!.inject({
      method: 'POST',
      url: '/portal/logout',
      headers: { cookie: c, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${encodeURIComponent(token)}`,
    });
    expect(out.statusCode).toBe(200);
    expect(out.headers['content-type']).toMatch(/text\/html/);
    expect(out.body).toContain('Signed out');
    expect(String(out.headers['set-cookie'])).toMatch(/^hl_portal=; .*Max-Age=0/);
    const after = await h.hookline.app!.inject({ method: 'GET', url: '/portal', headers: { cookie: c } });
    expect(after.statusCode).toBe(401);
  });

  it('answers a bad recover window with a page, not a 5xx', async () => {
    const sub = await createSub('/window');
    const res = await post(`/portal/webhooks/${sub.id}/recover`, { since: 'yesterday' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('That did not work');
    const empty = await post(`/portal/webhooks/${sub.id}/recover`, {});
    expect(empty.statusCode).toBe(400);
  });
});
