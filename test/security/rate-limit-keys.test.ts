// Rate limits that hold: requests are counted per verified caller, never per spelling of the
// Authorization header; callers without one per socket address, unless TRUST_PROXY names the
// proxy they come through; failed authentications (bearer tokens, /v1/auth/token, Bull Board)
// per source address, refused with 429 before the credentials are looked at.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { expectProblem, uniqueTenant } from './support.js';

const tenant = uniqueTenant('keys');
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Sends through Fastify's inject from `remoteAddress` (a label: nothing is dialled). */
async function call(
  h: Harness,
  opts: { method?: string; url: string; from: string; headers?: Record<string, string>; body?: unknown },
) {
  const res = await h.hookline.app!.inject({
    method: (opts.method ?? 'GET') as 'GET',
    url: opts.url,
    remoteAddress: opts.from,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.headers,
    },
    payload: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  return {
    status: res.statusCode,
    body: res.body ? (JSON.parse(res.body) as Record<string, unknown>) : {},
    headers: res.headers,
    raw: res.body,
  };
}

async function newClient(h: Harness) {
  const res = await h.request<{ clientId: string; clientSecret: string }>({
    method: 'POST',
    url: '/v1/clients',
    body: { tenantId: tenant, name: 'keys', scopes: ['webhooks:read'] },
  });
  expect(res.status, res.raw).toBe(201);
  return res.body;
}

describe('requests per minute (API_RATE_LIMIT_PER_MINUTE=3)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ API_RATE_LIMIT_PER_MINUTE: '3' }, { workers: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('bearer X, BEARER X and Bearer  X are one caller with one bucket', async () => {
    const client = await newClient(h); // the admin's 1st request
    const token = (
      await call(h, {
        method: 'POST',
        url: '/v1/auth/token',
        from: '127.0.0.21',
        body: { client_id: client.clientId, client_secret: client.clientSecret },
      })
    ).body.access_token as string;
    const list = (authorization: string) =>
      call(h, { url: '/v1/subscriptions', from: '127.0.0.22', headers: { authorization } });
    expect((await list(`bearer ${token}`)).status).toBe(200);
    expect((await list(`BEARER ${token}`)).status).toBe(200);
    expect((await list(`Bearer  ${token}`)).status).toBe(200);
    expectProblem(await list(`Bearer ${token}`), 429, 'rate_limited');
    // From another address it is still the same caller.
    const elsewhere = await call(h, {
      url: '/v1/subscriptions',
      from: '127.0.0.23',
      headers: { authorization: `bEaReR ${token}` },
    });
    expectProblem(elsewhere, 429, 'rate_limited');
  });

  it('an unauthenticated caller is its socket address: a spoofed X-Forwarded-For gets no fresh bucket', async () => {
    const docs = (xff: string) =>
      call(h, { url: '/docs/json', from: '127.0.0.31', headers: { 'x-forwarded-for': xff } });
    for (const xff of ['198.51.100.1', '198.51.100.2', '198.51.100.3'])
      expect((await docs(xff)).status).toBe(200);
    expectProblem(await docs('198.51.100.4'), 429, 'rate_limited');
    // Another address has its own bucket.
    expect((await call(h, { url: '/docs/json', from: '127.0.0.32' })).status).toBe(200);
  });

  it('IPv6 callers are counted per /64, IPv4-mapped ones as their IPv4 address', async () => {
    for (const from of ['::1', '::2', '::3'])
      expect((await call(h, { url: '/docs/json', from })).status).toBe(200);
    expectProblem(await call(h, { url: '/docs/json', from: '::4' }), 429, 'rate_limited');
    for (let i = 0; i < 3; i++)
      expect((await call(h, { url: '/docs/json', from: '127.0.0.41' })).status).toBe(200);
    expectProblem(await call(h, { url: '/docs/json', from: '::ffff:127.0.0.41' }), 429, 'rate_limited');
  });
});

describe('failed authentications per source (AUTH_FAILURES_PER_MINUTE=3)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ AUTH_FAILURES_PER_MINUTE: '3' }, { workers: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  const list = (from: string, authorization: string, headers: Record<string, string> = {}) =>
    call(h, { url: '/v1/subscriptions?tenantId=x', from, headers: { authorization, ...headers } });

  it('guessed tokens share their source’s bucket; past it even the right token gets 429 until the window ends', async () => {
    for (const guess of ['Bearer guess-1', 'bearer guess-2', 'Basic Z3Vlc3M6Mw==']) {
      expectProblem(await list('127.0.0.51', guess), 401, 'unauthorized');
    }
    const refused = await list('127.0.0.51', 'Bearer dev-admin-token');
    const problem = expectProblem(refused, 429, 'rate_limited');
    expect(problem.detail).toMatch(/failed authentications/);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another source, and requests that present nothing, are not affected.
    expect((await list('127.0.0.52', 'Bearer dev-admin-token')).status).toBe(200);
    expectProblem(await call(h, { url: '/v1/subscriptions', from: '127.0.0.51' }), 401, 'unauthorized');
  });

  it('a spoofed X-Forwarded-For does not give a fresh bucket when TRUST_PROXY is off', async () => {
    for (let i = 0; i < 3; i++)
      expectProblem(
        await list('127.0.0.53', 'Bearer nope', { 'x-forwarded-for': `198.51.100.${i}` }),
        401,
        'unauthorized',
      );
    expectProblem(
      await list('127.0.0.53', 'Bearer dev-admin-token', { 'x-forwarded-for': '198.51.100.99' }),
      429,
      'rate_limited',
    );
  });

  it('bad client credentials at /v1/auth/token count per source, checked before the next credentials', async () => {
    const client = await newClient(h);
    const exchange = (from: string, secret: string) =>
      call(h, {
        method: 'POST',
        url: '/v1/auth/token',
        from,
        body: { client_id: client.clientId, client_secret: secret },
      });
    for (let i = 0; i < 3; i++) {
      const res = await exchange('127.0.0.61', `wrong-${i}`);
      expect(res.status, res.raw).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    }
    expectProblem(await exchange('127.0.0.61', client.clientSecret), 429, 'rate_limited');
    expect((await exchange('127.0.0.62', client.clientSecret)).status).toBe(200);
  });

  it('bad Bull Board passwords count per source too', async () => {
    const board = (from: string, authorization: string) =>
      call(h, { url: '/admin/queues/api/queues', from, headers: { authorization } });
    for (let i = 0; i < 3; i++)
      expect((await board('127.0.0.71', basic('ops', `wrong-${i}`))).status).toBe(401);
    expectProblem(await board('127.0.0.71', basic('ops', h.config.ADMIN_TOKEN)), 429, 'rate_limited');
    expect((await board('127.0.0.72', basic('ops', h.config.ADMIN_TOKEN))).status).toBe(200);
  });

  it('the three kinds share one bucket per source', async () => {
    expectProblem(await list('127.0.0.81', 'Bearer nope'), 401, 'unauthorized');
    const token = await call(h, {
      method: 'POST',
      url: '/v1/auth/token',
      from: '127.0.0.81',
      body: { client_id: 'cli_nope', client_secret: 'nope' },
    });
    expect(token.status).toBe(401);
    const board = await call(h, {
      url: '/admin/queues/api/queues',
      from: '127.0.0.81',
      headers: { authorization: basic('ops', 'nope') },
    });
    expect(board.status).toBe(401);
    expectProblem(await list('127.0.0.81', 'Bearer dev-admin-token'), 429, 'rate_limited');
  });
});

describe('TRUST_PROXY=127.0.0.1 (one trusted proxy)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ AUTH_FAILURES_PER_MINUTE: '2', TRUST_PROXY: '127.0.0.1' }, { workers: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  const guess = (from: string, xff: string, token = 'nope') =>
    call(h, {
      url: '/v1/subscriptions?tenantId=x',
      from,
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': xff },
    });

  it('the address the trusted proxy reports is the source: each client behind it has its own bucket', async () => {
    for (let i = 0; i < 2; i++) expect((await guess('127.0.0.1', '198.51.100.7')).status).toBe(401);
    expectProblem(await guess('127.0.0.1', '198.51.100.7', 'dev-admin-token'), 429, 'rate_limited');
    expect((await guess('127.0.0.1', '198.51.100.8', 'dev-admin-token')).status).toBe(200);
  });

  it('X-Forwarded-For from an address that is not a trusted proxy is ignored', async () => {
    for (let i = 0; i < 2; i++) expect((await guess('127.0.0.2', `198.51.100.${10 + i}`)).status).toBe(401);
    expectProblem(await guess('127.0.0.2', '198.51.100.12', 'dev-admin-token'), 429, 'rate_limited');
  });
});

describe('TRUST_PROXY parsing', () => {
  it.each([
    ['', false],
    ['false', false],
    ['0', false],
    ['true', true],
    ['2', 2],
    ['127.0.0.1', ['127.0.0.1']],
    ['10.0.0.0/8, ::1, loopback', ['10.0.0.0/8', '::1', 'loopback']],
  ])('%j → %j', (raw, parsed) => {
    expect(loadConfig({ TRUST_PROXY: raw }).TRUST_PROXY).toEqual(parsed);
  });

  it.each([['10.0.0.0/33'], ['proxy.internal'], ['127.1'], ['-1']])(
    '%j stops the start, naming TRUST_PROXY',
    (raw) => {
      expect(() => loadConfig({ TRUST_PROXY: raw })).toThrow(/TRUST_PROXY/);
    },
  );
});
