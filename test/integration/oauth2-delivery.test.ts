// OAuth2 through the whole delivery path: real token endpoint, real receiver, real workers.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHookline, type Hookline } from '../../src/hookline.js';
import { ADMIN, startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import {
  oauth2Settings,
  startTokenServer,
  type OAuth2Settings,
  type TokenServer,
} from '../helpers/token-server.js';

let h: Harness;
let rx: Receiver;
const servers: TokenServer[] = [];
const extra: Hookline[] = [];

beforeAll(async () => {
  h = await startHarness({ DELIVERY_CONCURRENCY: '25' });
  rx = await startReceiver();
});
afterEach(async () => {
  for (const x of extra.splice(0)) await x.close();
  for (const s of servers.splice(0)) await s.close();
  rx.respond(() => ({ status: 200 }));
});
afterAll(async () => {
  await h.close();
  await rx.close();
});

async function tokenServer(config: Parameters<typeof startTokenServer>[0] = {}, rt?: string) {
  const ts = await startTokenServer(config, rt);
  servers.push(ts);
  return ts;
}

const newTenant = () => `t_${Math.random().toString(36).slice(2)}`;

/** A subscription body: deliveries to `path` on the receiver, authenticated by `ts`. */
const oauthBody = (ts: TokenServer, path: string, oauth2: Partial<OAuth2Settings> = {}) => ({
  webhookUrl: `${rx.url}${path}`,
  events: ['message.*'],
  authType: 'oauth2',
  oauth2: oauth2Settings(ts, oauth2),
});

async function oauthSubscription(
  tenantId: string,
  ts: TokenServer,
  path: string,
  oauth2: Partial<OAuth2Settings> = {},
) {
  const res = await h.request<{ id: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenantId}`,
    body: oauthBody(ts, path, oauth2),
  });
  expect(res.status, res.raw).toBe(201);
  return res.body.id;
}

const events = (tenantId: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `evt_${Math.random().toString(36).slice(2)}_${i}`,
    tenantId,
    type: 'message.sent',
    channel: 'sms',
    messageId: `m-${i}`,
  }));

async function publish(evts: unknown[]) {
  const res = await h.request({ method: 'POST', url: '/v1/events/batch', body: { events: evts } });
  expect(res.status, res.raw).toBe(202);
}

/** Answers 200 only to the latest token the endpoint issued. */
const onlyLatestToken = (ts: TokenServer) => (r: { headers: Record<string, unknown> }) =>
  r.headers.authorization === `Bearer ${ts.issued.at(-1)}` ? { status: 200 } : { status: 401 };

describe('OAuth2 deliveries', () => {
  it('50 deliveries at once with a cold cache cost exactly one token request', async () => {
    const ts = await tokenServer();
    const t = newTenant();
    await oauthSubscription(t, ts, '/cc');
    rx.respond(onlyLatestToken(ts));
    await publish(events(t, 50));
    const got = await rx.waitFor(50, { filter: (r) => r.path === '/cc' });
    expect(ts.count).toBe(1);
    expect(new Set(got.map((r) => r.headers.authorization))).toEqual(new Set([`Bearer ${ts.issued[0]}`]));
    expect(ts.requests[0]).toMatchObject({ grantType: 'client_credentials', clientAuth: 'basic' });
  });

  it('two worker processes share one token request', async () => {
    const ts = await tokenServer({ authMethod: 'client_secret_post', delayMs: 100 });
    // Two Hooklines on their own prefix, as two processes would be. Every delivery is a job
    // (FANOUT_DIRECT_MAX 0), so both processes' delivery workers take some: a fan-out attempting
    // its deliveries itself would keep a publish call's deliveries in one process.
    const config = { ...h.config, REDIS_PREFIX: `${h.config.REDIS_PREFIX}two:`, FANOUT_DIRECT_MAX: 0 };
    const first = await createHookline(config, { api: true, workers: true });
    const second = await createHookline(config, { api: false, workers: true });
    extra.push(second, first);
    let seenByFirst = 0;
    let seenBySecond = 0;
    first.ctx.deliveryHooks.push({ afterAttempt: () => void seenByFirst++ });
    second.ctx.deliveryHooks.push({ afterAttempt: () => void seenBySecond++ });
    const inject = async (url: string, body: unknown) => {
      const res = await first.app!.inject({ method: 'POST', url, headers: ADMIN, payload: body as object });
      expect(res.statusCode, res.body).toBeLessThan(300);
    };
    const t = newTenant();
    await inject(
      `/v1/subscriptions?tenantId=${t}`,
      oauthBody(ts, '/two', { authMethod: 'client_secret_post' }),
    );
    await inject('/v1/events/batch', { events: events(t, 50) });
    await rx.waitFor(50, { filter: (r) => r.path === '/two' });
    await h.until(() => seenByFirst + seenBySecond === 50);
    expect(ts.count).toBe(1);
    expect(ts.requests[0]!.clientAuth).toBe('post');
    expect(seenBySecond).toBeGreaterThan(0);
    expect(seenByFirst).toBeGreaterThan(0);
  });

  it('a subscriber 401 drops the token and retries at once with a fresh one, inside the same attempt', async () => {
    const ts = await tokenServer();
    const t = newTenant();
    await oauthSubscription(t, ts, '/401');
    let first = true;
    rx.respond((r) => {
      if (r.path !== '/401') return { status: 200 };
      if (first) {
        first = false;
        return { status: 401 };
      }
      return onlyLatestToken(ts)(r);
    });
    const [e] = events(t, 1);
    await publish([e]);
    await rx.waitFor(2, { filter: (r) => r.path === '/401' });
    expect(ts.count).toBe(2);
    const state = await h.until(async () => {
      const res = await h.request<{ deliveries: { id: string; status: string }[] }>({
        method: 'GET',
        url: `/v1/events/${e!.id}?tenantId=${t}`,
      });
      return res.body.deliveries?.[0]?.status === 'succeeded' ? res.body.deliveries[0] : undefined;
    });
    const record = await h.request<{ attempts: { statusCode: number }[] }>({
      method: 'GET',
      url: `/v1/deliveries/${state.id}`,
    });
    expect(record.body.attempts.map((a) => a.statusCode)).toEqual([200]);
  });

  it('a token endpoint that is down costs retries (oauth_token_error), then every delivery lands', async () => {
    const ts = await tokenServer({ mode: 'server_error' });
    const t = newTenant();
    await oauthSubscription(t, ts, '/down');
    const evts = events(t, 10);
    await publish(evts);
    // Wait until every delivery has failed at least once on the token endpoint.
    const ids = await h.until(async () => {
      const res = await h.request<{ deliveries: { id: string; attempts: number }[] }>({
        method: 'GET',
        url: `/v1/events/${evts[9]!.id}?tenantId=${t}`,
      });
      return res.body.deliveries?.[0]?.attempts ? res.body.deliveries.map((d) => d.id) : undefined;
    });
    const failed = await h.request<{
      status: string;
      attempts: { error: { code: string; message: string } }[];
    }>({
      method: 'GET',
      url: `/v1/deliveries/${ids[0]}`,
    });
    expect(failed.body.attempts[0]!.error.code).toBe('oauth_token_error');
    expect(failed.body.attempts[0]!.error.message).not.toContain(ts.config.clientSecret);
    expect(rx.requests.filter((r) => r.path === '/down')).toHaveLength(0);
    ts.config.mode = 'ok';
    await rx.waitFor(10, { filter: (r) => r.path === '/down' });
    await h.until(async () => {
      const res = await h.request<{ deliveries: { status: string }[] }>({
        method: 'GET',
        url: `/v1/events/${evts[0]!.id}?tenantId=${t}`,
      });
      return res.body.deliveries?.[0]?.status === 'succeeded';
    });
  });

  it('refresh_token grant: an expired token is refreshed and a rotated refresh token is used next time', async () => {
    const ts = await tokenServer({ rotateRefreshTokens: true, expiresIn: 31 }, 'rt-initial-0000000000');
    const t = newTenant();
    const subId = await oauthSubscription(t, ts, '/rt', {
      grantType: 'refresh_token',
      refreshToken: 'rt-initial-0000000000',
    });
    rx.respond(onlyLatestToken(ts));
    await publish(events(t, 1));
    await rx.waitFor(1, { filter: (r) => r.path === '/rt' });
    expect(ts.requests[0]).toMatchObject({
      grantType: 'refresh_token',
      refreshToken: 'rt-initial-0000000000',
    });
    const rotated = ts.refreshToken;
    expect(rotated).not.toBe('rt-initial-0000000000');
    // expires_in 31 minus the 30 s margin: the cached token lapses after 1 s.
    await h.until(
      async () => (await h.hookline.ctx.redis.exists(h.hookline.ctx.keys.oauthToken(subId))) === 0,
      5000,
    );
    await new Promise((r) => setTimeout(r, 50)); // the in-process copy expires on the same clock
    await publish(events(t, 1));
    await rx.waitFor(2, { filter: (r) => r.path === '/rt' });
    expect(ts.count).toBe(2);
    expect(ts.requests[1]).toMatchObject({ grantType: 'refresh_token', refreshToken: rotated });
    const sub = await h.request<{ oauth2: { refreshToken: string } }>({
      method: 'GET',
      url: `/v1/subscriptions/${subId}`,
    });
    // The second refresh rotated again: the newest refresh token is what is stored.
    expect(sub.body.oauth2.refreshToken).toBe(`${ts.refreshToken.slice(0, 4)}****`);
    expect(ts.refreshToken).not.toBe(rotated);
  });

  it('changing auth settings drops the cached token', async () => {
    const ts = await tokenServer();
    const t = newTenant();
    const subId = await oauthSubscription(t, ts, '/change');
    await publish(events(t, 1));
    await rx.waitFor(1, { filter: (r) => r.path === '/change' });
    expect(ts.count).toBe(1);
    const patched = await h.request({
      method: 'PATCH',
      url: `/v1/subscriptions/${subId}`,
      body: { oauth2: { scopes: ['dlr:write'] } },
    });
    expect(patched.status, patched.raw).toBe(200);
    await publish(events(t, 1));
    await rx.waitFor(2, { filter: (r) => r.path === '/change' });
    expect(ts.count).toBe(2);
    expect(ts.requests[1]!.scope).toBe('dlr:write');
  });

  it('basic auth sends the credentials', async () => {
    const t = newTenant();
    const res = await h.request({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${t}`,
      body: {
        webhookUrl: `${rx.url}/basic`,
        events: ['*'],
        authType: 'basic',
        basic: { username: 'acme', password: 'p@ss:word-123' },
      },
    });
    expect(res.status).toBe(201);
    await publish(events(t, 1));
    const [r] = await rx.waitFor(1, { filter: (x) => x.path === '/basic' });
    expect(r!.headers.authorization).toBe(`Basic ${Buffer.from('acme:p@ss:word-123').toString('base64')}`);
  });
});
