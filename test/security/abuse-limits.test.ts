// API abuse limits over the real app: per-client rate limits (429 + Retry-After, one client
// never throttles another), body limits (413), malformed and hostile JSON (400), security
// headers, and router-level errors, all as application/problem+json.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { deliveredEvent, expectProblem, uniqueTenant } from './support.js';

const tenant = uniqueTenant('abuse');
const KB = 1024;

const event = (extra: Record<string, unknown> = {}) => deliveredEvent(tenant, extra);

/** A JSON event body of roughly `bytes` bytes. */
const eventOfSize = (bytes: number) => event({ data: { blob: 'x'.repeat(bytes) } });

describe('rate limits (API_RATE_LIMIT_PER_MINUTE=5)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ API_RATE_LIMIT_PER_MINUTE: '5' }, { workers: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the 6th request of a token gets 429 rate_limited with Retry-After; another token is unaffected', async () => {
    // A second client, set up first so the admin's budget is spent only below: 1 admin request
    // here, its token exchange is keyed by address, not by the admin token.
    const created = await h.request<{ clientId: string; clientSecret: string }>({
      method: 'POST',
      url: '/v1/clients',
      body: { tenantId: tenant, name: 'reader', scopes: ['webhooks:read'] },
    });
    expect(created.status, created.raw).toBe(201);
    const token = await h.request<{ access_token: string }>({
      method: 'POST',
      url: '/v1/auth/token',
      headers: { authorization: '' },
      body: { client_id: created.body.clientId, client_secret: created.body.clientSecret },
    });
    expect(token.status, token.raw).toBe(200);

    const list = () => h.request({ method: 'GET', url: `/v1/subscriptions?tenantId=${tenant}` });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await list()).status); // 2nd..5th admin request
    expect(statuses).toEqual([200, 200, 200, 200]);
    const sixth = await list();
    const problem = expectProblem(sixth, 429, 'rate_limited');
    expect(problem.detail).toMatch(/rate limit/);
    const retryAfter = Number(sixth.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Still limited on any route, including a write.
    expectProblem(await h.request({ method: 'POST', url: '/v1/events', body: event() }), 429, 'rate_limited');

    const other = await h.request({
      method: 'GET',
      url: '/v1/subscriptions',
      headers: { authorization: `Bearer ${token.body.access_token}` },
    });
    expect(other.status, other.raw).toBe(200);
  });

  it('liveness and readiness probes are never throttled', async () => {
    for (let i = 0; i < 8; i++) {
      expect((await h.request({ method: 'GET', url: '/healthz' })).status).toBe(200);
    }
  });
});

describe('bodies, errors and headers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({}, { workers: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Posts `text` as it is, labelled application/json. */
  const postJsonText = (text: string, url = '/v1/events') =>
    h.request({ method: 'POST', url, body: text, headers: { 'content-type': 'application/json' } });

  it('an event just under 256 KB is accepted', async () => {
    const res = await h.request({ method: 'POST', url: '/v1/events', body: eventOfSize(250 * KB) });
    expect(res.status, res.raw.slice(0, 200)).toBe(202);
  });

  it('an event over 256 KB on POST /v1/events is 413 payload_too_large', async () => {
    const res = await h.request({ method: 'POST', url: '/v1/events', body: eventOfSize(260 * KB) });
    expectProblem(res, 413, 'payload_too_large');
  });

  it('an event over 256 KB inside a batch is refused too (256 KB is per event)', async () => {
    const res = await h.request({
      method: 'POST',
      url: '/v1/events/batch',
      body: { events: [event(), eventOfSize(300 * KB)] },
    });
    expectProblem(res, 413, 'payload_too_large', '/events/1');
  });

  it('a subscription body over the 1 MB API limit is 413', async () => {
    const res = await h.request({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenant}`,
      body: { webhookUrl: 'https://127.0.0.1/big', events: ['*'], description: 'x'.repeat(1100 * KB) },
    });
    expectProblem(res, 413, 'payload_too_large');
  });

  it.each([['{"tenantId": '], ['{tenantId: "t"}'], ["{'a': 1}"], ['[1, 2'], ['NaN'], ['']])(
    'malformed JSON %j is 400 validation_error',
    async (text) => {
      const res = await postJsonText(text);
      expectProblem(res, 400, 'validation_error');
    },
  );

  it.each([['__proto__'], ['constructor']])(
    'a %s key in a body is 400, and nothing is polluted',
    async (key) => {
      const text = `{"tenantId":"${tenant}","type":"auth.success","${key}":{"prototype":{"isAdmin":true},"isAdmin":true}}`;
      const res = await postJsonText(text);
      expectProblem(res, 400, 'validation_error');
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    },
  );

  it('a body nested deeper than the limit is 400, not a stack overflow', async () => {
    const depth = 10_000;
    const text = `{"tenantId":"${tenant}","type":"auth.success","data":{"a":${'['.repeat(depth)}1${']'.repeat(depth)}}}`;
    for (const url of ['/v1/events', `/v1/subscriptions?tenantId=${tenant}`]) {
      const res = await postJsonText(text, url);
      expectProblem(res, 400, 'validation_error');
    }
  });

  it('an unsupported content type is 415 problem+json', async () => {
    const res = await h.request({
      method: 'POST',
      url: '/v1/events',
      body: '<event/>',
      headers: { 'content-type': 'application/xml' },
    });
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('an unknown route is 404 problem+json, with or without a token', async () => {
    expectProblem(await h.request({ method: 'GET', url: '/v1/nope' }), 404, 'not_found');
    expectProblem(
      await h.request({ method: 'POST', url: '/admin/../v2/x', headers: { authorization: '' } }),
      404,
      'not_found',
    );
  });

  it('a malformed or over-long path is a problem+json 4xx from the router', async () => {
    expectProblem(await h.request({ method: 'GET', url: '/v1/subscriptions/%zz' }), 400, 'validation_error');
    const long = await h.request({ method: 'GET', url: `/v1/subscriptions/${'a'.repeat(5000)}` });
    expectProblem(long, 414, 'uri_too_long');
  });

  it('no or a wrong token is 401 problem+json', async () => {
    expectProblem(
      await h.request({ method: 'GET', url: '/v1/subscriptions', headers: { authorization: '' } }),
      401,
      'unauthorized',
    );
    expectProblem(
      await h.request({
        method: 'GET',
        url: '/v1/subscriptions',
        headers: { authorization: 'Bearer dev-admin-tokeN' },
      }),
      401,
      'unauthorized',
    );
  });

  it('answers carry security headers, errors included', async () => {
    for (const res of [
      await h.request({ method: 'GET', url: '/healthz' }),
      await h.request({ method: 'GET', url: '/v1/nope' }),
      await h.request({ method: 'GET', url: '/v1/subscriptions', headers: { authorization: '' } }),
    ]) {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-dns-prefetch-control']).toBe('off');
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('slow clients are timed out by the server', () => {
    const server = h.hookline.app!.server;
    expect(server.requestTimeout).toBeGreaterThan(0);
    expect(server.requestTimeout).toBeLessThanOrEqual(60_000);
    expect(server.headersTimeout).toBeGreaterThan(0);
  });
});
