// POST /v1/portal/sessions and the link it mints, over plain HTTP (inject): who may mint for which
// tenant, ttl bounds, problem+json codes; a link works once, then shows nothing; the session is
// an HttpOnly SameSite=Strict cookie scoped to its tenant; state changes need the CSRF token.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createPortalSessions } from '../../src/services/portal-sessions.js';
import { scanKeys, startHarness, tenantAuth, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

let h: Harness;
let rx: Receiver;

beforeAll(async () => {
  h = await startHarness({ PUBLIC_URL: 'https://hooks.example.test' });
  rx = await startReceiver();
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
});

async function platformAuth(scopes: string[]) {
  const client = await h.request<{ clientId: string; clientSecret: string }>({
    method: 'POST',
    url: '/v1/clients',
    body: { name: 'dashboard', scopes },
  });
  const token = await h.request<{ access_token: string }>({
    method: 'POST',
    url: '/v1/auth/token',
    body: { client_id: client.body.clientId, client_secret: client.body.clientSecret },
  });
  return { authorization: `Bearer ${token.body.access_token}` };
}

const mint = (body: unknown, headers?: Record<string, string>) =>
  h.request<{ url: string; expiresAt: string; code?: string; errors?: { path: string }[] }>({
    method: 'POST',
    url: '/v1/portal/sessions',
    body,
    headers,
  });

/** Opens a minted link as a browser would (the path on this server) and returns the session cookie. */
async function open(url: string) {
  const u = new URL(url);
  const res = await h.hookline.app!.inject({ method: 'GET', url: `${u.pathname}${u.search}` });
  const setCookie = res.headers['set-cookie'];
  const cookie = typeof setCookie === 'string' ? setCookie.split(';')[0]! : undefined;
  return { res, cookie, setCookie: typeof setCookie === 'string' ? setCookie : '' };
}

const page = (
  url: string,
  cookie: string | undefined,
  init: { method?: string; payload?: string; headers?: Record<string, string> } = {},
) =>
  h.hookline.app!.inject({
    method: (init.method ?? 'GET') as 'GET',
    url,
    headers: { ...(cookie ? { cookie } : {}), ...init.headers },
    payload: init.payload,
  });

describe('minting portal links', () => {
  it('the admin mints for a named tenant: an absolute one-time URL on PUBLIC_URL and its expiry', async () => {
    const before = Date.now();
    const res = await mint({ tenantId: 't_portal_a', ttlSeconds: 600 });
    expect(res.status, res.raw).toBe(201);
    expect(res.body.url).toMatch(/^https:\/\/hooks\.example\.test\/portal\/start\?code=[A-Za-z0-9_-]{40,}$/);
    const exp = Date.parse(res.body.expiresAt);
    expect(exp).toBeGreaterThanOrEqual(before + 600_000);
    expect(exp).toBeLessThanOrEqual(Date.now() + 600_000);
    // Redis holds a digest of the code, never the code itself.
    const code = new URL(res.body.url).searchParams.get('code')!;
    const keys: string[] = [];
    for await (const page of scanKeys(h.hookline.ctx.redis, `${h.config.REDIS_PREFIX}:portal:`))
      keys.push(...page);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(' ')).not.toContain(code);
  });

  it('defaults ttlSeconds to 3600 and refuses values out of bounds with field paths', async () => {
    const res = await mint({ tenantId: 't_portal_a' });
    expect(res.status).toBe(201);
    expect(Date.parse(res.body.expiresAt) - Date.now()).toBeGreaterThan(3_590_000);
    for (const ttlSeconds of [0, 59, 86_401, 1.5, 'soon']) {
      const bad = await mint({ tenantId: 't_portal_a', ttlSeconds });
      expect(bad.status, String(ttlSeconds)).toBe(400);
      expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(bad.body).toMatchObject({ code: 'validation_error' });
      expect(bad.body.errors?.[0]?.path).toBe('/ttlSeconds');
    }
    const unknown = await mint({ tenantId: 't_portal_a', extra: 1 });
    expect(unknown.status).toBe(400);
  });

  it('needs a tenant from the admin and platform clients', async () => {
    const res = await mint({});
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'validation_error', errors: [{ path: '/tenantId' }] });
    const platform = await platformAuth(['webhooks:read']);
    expect((await mint({}, platform)).status).toBe(400);
    expect((await mint({ tenantId: 't_portal_p' }, platform)).status).toBe(201);
  });

  it('authenticates (401) and needs webhooks:read (403) before looking at the body', async () => {
    const none = await mint({ ttlSeconds: -1 }, { authorization: '' });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ code: 'unauthorized' });
    const publisher = await platformAuth(['events:publish']);
    const res = await mint({ ttlSeconds: -1 }, publisher);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'insufficient_scope' });
  });

  it('lets a tenant client mint for its own tenant only', async () => {
    const asTenant = await tenantAuth(h, 't_portal_own', ['webhooks:read']);
    const own = await mint({}, asTenant);
    expect(own.status).toBe(201);
    // The link's session is the client's own tenant.
    const opened = await open(own.body.url);
    expect((await page('/portal', opened.cookie)).body).toContain('Account <code>t_portal_own</code>');
    expect((await mint({ tenantId: 't_portal_own' }, asTenant)).status).toBe(201);
    const other = await mint({ tenantId: 't_portal_other' }, asTenant);
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({ code: 'insufficient_scope' });
  });

  it('answers on the request’s own origin without PUBLIC_URL', async () => {
    const h2 = await startHarness();
    try {
      const res = await h2.request<{ url: string }>({
        method: 'POST',
        url: '/v1/portal/sessions',
        body: { tenantId: 't' },
        headers: { host: 'portal.local:8080' },
      });
      expect(res.status).toBe(201);
      expect(res.body.url).toMatch(/^http:\/\/portal\.local:8080\/portal\/start\?code=/);
    } finally {
      await h2.close();
    }
  });
});

describe('opening a link', () => {
  it('starts a session once: HttpOnly, SameSite=Strict, Secure on https; a second use shows nothing', async () => {
    const { body } = await mint({ tenantId: 't_portal_a', ttlSeconds: 120 });
    const first = await open(body.url);
    expect(first.res.statusCode).toBe(200);
    expect(first.setCookie).toMatch(
      /^__Host-hl_portal=[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=1[12]\d; Secure$/,
    );
    expect(first.res.body).toContain('url=/portal');
    const list = await page('/portal', first.cookie);
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('Manage Webhooks');
    expect(list.body).toContain('t_portal_a');

    const again = await open(body.url);
    expect(again.res.statusCode).toBe(404);
    expect(again.cookie).toBeUndefined();
    expect(again.res.body).toContain('Link expired or not found');
  });

  it('shows the expired page for a forged code, an expired link and no cookie, never a 5xx', async () => {
    for (const code of ['', 'x', 'A'.repeat(43), '%00', 'a'.repeat(5000)]) {
      const res = await page(`/portal/start?code=${code}`, undefined);
      expect([404, 414]).toContain(res.statusCode);
    }
    const { body } = await mint({ tenantId: 't_portal_a', ttlSeconds: 60 });
    const code = new URL(body.url).searchParams.get('code')!;
    // Expired: the session service refuses a code whose grant has run out.
    expect(await h.hookline.app!.inject({ method: 'GET', url: '/portal' }).then((r) => r.statusCode)).toBe(
      401,
    );
    const sessions = createPortalSessions(h.hookline.ctx);
    expect(await sessions.exchange(code, Date.now() + 61_000)).toBeUndefined();
    const later = await page('/portal', 'hl_portal=forged-session-id-aaaaaaaaaaaaaaaa');
    expect(later.statusCode).toBe(401);
    expect(later.body).toContain('Link expired or not found');
    // A mistyped portal address is the same page, with the portal's headers.
    for (const url of ['/portal/nope', '/portal/webhooks/sub_x/nope']) {
      const res = await page(url, 'hl_portal=forged-session-id-aaaaaaaaaaaaaaaa');
      expect(res.statusCode, url).toBe(401);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(res.body).toContain('Link expired or not found');
    }
  });

  it('keeps the code out of the logs', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const h2 = await startHarness({}, { logger: createLogger('info', {}, stream) });
    try {
      const minted = await h2.request<{ url: string }>({
        method: 'POST',
        url: '/v1/portal/sessions',
        body: { tenantId: 't_portal_log' },
      });
      const u = new URL(minted.body.url);
      const res = await h2.hookline.app!.inject({ method: 'GET', url: `${u.pathname}${u.search}` });
      expect(res.statusCode).toBe(200);
      const logged = lines.join('');
      expect(logged).toContain('/portal/start?…');
      expect(logged).not.toContain(u.searchParams.get('code')!);
    } finally {
      await h2.close();
    }
  });

  it('a HEAD (a link checker) does not use the code up', async () => {
    const { body } = await mint({ tenantId: 't_portal_a', ttlSeconds: 120 });
    const u = new URL(body.url);
    const head = await h.hookline.app!.inject({ method: 'HEAD', url: `${u.pathname}${u.search}` });
    expect(head.statusCode).toBe(200);
    expect(head.headers['set-cookie']).toBeUndefined();
    const { res, cookie } = await open(body.url);
    expect(res.statusCode).toBe(200);
    expect((await page('/portal', cookie)).statusCode).toBe(200);
  });

  it('keeps a session inside its tenant: another tenant’s webhook is "not found"', async () => {
    const created = await h.request<{ id: string }>({
      method: 'POST',
      url: '/v1/subscriptions?tenantId=t_portal_b',
      body: { webhookUrl: `${rx.url}/b`, events: ['message.delivered'] },
    });
    expect(created.status).toBe(201);
    const { body } = await mint({ tenantId: 't_portal_a' });
    const { cookie } = await open(body.url);
    for (const url of [
      `/portal/webhooks/${created.body.id}`,
      `/portal/webhooks/${created.body.id}/edit`,
      `/portal/webhooks/${created.body.id}/delete`,
      `/portal/webhooks/${created.body.id}/nope`,
    ]) {
      const res = await page(url, cookie);
      expect(res.statusCode, url).toBe(404);
      expect(res.body).toContain('Link expired or not found');
      expect(res.body).not.toContain(`${rx.url}/b`);
    }
    const csrf = /name="csrf-token" content="([^"]+)"/.exec((await page('/portal', cookie)).body)![1]!;
    const del = await page(`/portal/webhooks/${created.body.id}/delete`, cookie, {
      method: 'POST',
      payload: `_csrf=${encodeURIComponent(csrf)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(del.statusCode).toBe(404);
    const still = await h.request({ method: 'GET', url: `/v1/subscriptions/${created.body.id}` });
    expect(still.status).toBe(200);
  });

  it('refuses a state change without the session’s CSRF token or from another origin', async () => {
    const created = await h.request<{ id: string }>({
      method: 'POST',
      url: '/v1/subscriptions?tenantId=t_portal_c',
      body: { webhookUrl: `${rx.url}/c`, events: ['message.delivered'] },
    });
    const { body } = await mint({ tenantId: 't_portal_c' });
    const { cookie } = await open(body.url);
    const csrf = /name="csrf-token" content="([^"]+)"/.exec((await page('/portal', cookie)).body)![1]!;
    const form = (token: string, headers: Record<string, string> = {}) =>
      page(`/portal/webhooks/${created.body.id}/pause`, cookie, {
        method: 'POST',
        payload: token ? `_csrf=${encodeURIComponent(token)}` : '',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      });
    expect((await form('')).statusCode).toBe(403);
    expect((await form('not-the-token')).statusCode).toBe(403);
    expect((await form(csrf, { origin: 'http://127.0.0.1:9' })).statusCode).toBe(403);
    const api = await page('/portal/api/webhooks', cookie, {
      method: 'POST',
      payload: JSON.stringify({ webhookUrl: `${rx.url}/x`, events: ['*'] }),
      headers: { 'content-type': 'application/json' },
    });
    expect(api.statusCode).toBe(403);
    expect(JSON.parse(api.body)).toMatchObject({ code: 'insufficient_scope' });
    const status = await h.request<{ status: string }>({
      method: 'GET',
      url: `/v1/subscriptions/${created.body.id}`,
    });
    expect(status.body.status).toBe('active');

    const ok = await form(csrf);
    expect(ok.statusCode).toBe(303);
    const paused = await h.request<{ status: string }>({
      method: 'GET',
      url: `/v1/subscriptions/${created.body.id}`,
    });
    expect(paused.body.status).toBe('paused');
  });

  it('validates saves like the public API: field paths, the SSRF guard, a read-only link', async () => {
    const { body } = await mint({ tenantId: 't_portal_d' });
    const { cookie } = await open(body.url);
    const csrf = /name="csrf-token" content="([^"]+)"/.exec((await page('/portal', cookie)).body)![1]!;
    const save = (payload: unknown, c = cookie, token = csrf) =>
      page('/portal/api/webhooks', c, {
        method: 'POST',
        payload: JSON.stringify(payload),
        headers: { 'content-type': 'application/json', 'x-csrf-token': token },
      });
    const bad = await save({
      webhookUrl: '',
      events: ['message.delivered'],
      customHeaders: { 'content-type': 'x' },
    });
    expect(bad.statusCode).toBe(400);
    const paths = (JSON.parse(bad.body) as { errors: { path: string }[] }).errors.map((e) => e.path);
    expect(paths).toContain('/webhookUrl');
    const ssrf = await save({ webhookUrl: 'http://169.254.169.254/latest', events: ['message.delivered'] });
    expect(ssrf.statusCode).toBe(400);
    expect(JSON.parse(ssrf.body)).toMatchObject({ code: 'ssrf_blocked' });
    const good = await save({ webhookUrl: `${rx.url}/d`, events: ['message.delivered'], format: 'params' });
    expect(good.statusCode, good.body).toBe(201);

    const readOnly = await tenantAuth(h, 't_portal_d', ['webhooks:read']);
    const link = await mint({}, readOnly);
    const ro = await open(link.body.url);
    const roCsrf = /name="csrf-token" content="([^"]+)"/.exec((await page('/portal', ro.cookie)).body)![1]!;
    const refused = await save(
      { webhookUrl: `${rx.url}/e`, events: ['message.delivered'] },
      ro.cookie,
      roCsrf,
    );
    expect(refused.statusCode).toBe(403);
    const list = await page('/portal', ro.cookie);
    expect(list.body).toContain(`${rx.url}/d`);
    expect(list.body).not.toContain('Add Webhook</a>');
  });
});
