// Tenant isolation matrix: tenant B's client token, holding every scope, against every route on
// tenant A's subscription answers 404 (never 403, which would confirm the id exists) and changes
// nothing. Listings and creates stay inside B's tenant whatever B names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES } from '../../src/api/plugins/auth.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

let h: Harness;
let rx: Receiver;
let asA: Record<string, string>;
let asB: Record<string, string>;
let subA: { id: string; signingSecret: string };
let deletedA: { id: string };

async function tokenFor(tenantId: string): Promise<Record<string, string>> {
  const client = await h.request({
    method: 'POST',
    url: '/v1/clients',
    body: { tenantId, name: tenantId, scopes: [...SCOPES] },
  });
  const token = await h.request({
    method: 'POST',
    url: '/v1/auth/token',
    body: { client_id: client.body.clientId, client_secret: client.body.clientSecret },
  });
  return { authorization: `Bearer ${token.body.access_token as string}` };
}

beforeAll(async () => {
  h = await startHarness();
  rx = await startReceiver();
  asA = await tokenFor('tenant-a');
  asB = await tokenFor('tenant-b');
  const created = await h.request({
    method: 'POST',
    url: '/v1/subscriptions',
    body: {
      webhookUrl: `${rx.url}/a`,
      events: ['*'],
      authType: 'bearer',
      bearer: { token: 'tenant-a-bearer-token' },
    },
    headers: asA,
  });
  subA = created.body as typeof subA;
  const gone = await h.request({
    method: 'POST',
    url: '/v1/subscriptions',
    body: { webhookUrl: `${rx.url}/a-gone`, events: ['*'] },
    headers: asA,
  });
  deletedA = gone.body as typeof deletedA;
  await h.request({ method: 'DELETE', url: `/v1/subscriptions/${deletedA.id}`, headers: asA });
});
afterAll(async () => {
  await h.close();
  await rx.close();
});

const routes = (id: string): [string, string, unknown?][] => [
  ['GET', `/v1/subscriptions/${id}`],
  ['GET', `/v1/subscriptions/${id}/secret`],
  ['PUT', `/v1/subscriptions/${id}`, { webhookUrl: 'http://127.0.0.1:9/stolen', events: ['*'] }],
  ['PATCH', `/v1/subscriptions/${id}`, { description: 'stolen' }],
  ['POST', `/v1/subscriptions/${id}/pause`],
  ['POST', `/v1/subscriptions/${id}/resume`],
  ['POST', `/v1/subscriptions/${id}/test`, {}],
  ['POST', `/v1/subscriptions/${id}/rotate-secret`, {}],
  ['POST', `/v1/subscriptions/${id}/restore`],
  ['POST', `/v1/subscriptions/${id}/recover`, { since: new Date(Date.now() - 3_600_000).toISOString() }],
  ['GET', `/v1/subscriptions/${id}/deliveries`],
  ['DELETE', `/v1/subscriptions/${id}`],
];

describe('tenant B against tenant A', () => {
  it.each(routes(':id').map(([m, u], i) => [m, u, i] as const))('%s %s → 404', async (_m, _u, i) => {
    const [method, url, body] = routes(subA.id)[i]!;
    const res = await h.request({ method, url, body, headers: asB });
    expect(res.status, res.raw).toBe(404);
    expect(res.body.code).toBe('not_found');
    // Naming tenant A explicitly changes nothing for a tenant client.
    const named = await h.request({ method, url: `${url}?tenantId=tenant-a`, body, headers: asB });
    expect(named.status, named.raw).toBe(404);
  });

  it('restore of A’s deleted subscription is 404 for B', async () => {
    const res = await h.request({
      method: 'POST',
      url: `/v1/subscriptions/${deletedA.id}/restore`,
      headers: asB,
    });
    expect(res.status).toBe(404);
  });

  it('left A’s subscription untouched and never called its receiver', async () => {
    const res = await h.request({ method: 'GET', url: `/v1/subscriptions/${subA.id}`, headers: asA });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'active', webhookUrl: `${rx.url}/a` });
    expect(res.body).not.toHaveProperty('description');
    const secret = await h.request({
      method: 'GET',
      url: `/v1/subscriptions/${subA.id}/secret`,
      headers: asA,
    });
    expect(secret.body.signingSecret).toBe(subA.signingSecret);
    expect(rx.requests.filter((r) => r.path === '/a')).toHaveLength(0);
    const stored = await h.hookline.ctx.subscriptionStore.get(deletedA.id);
    expect(stored?.deletedAt).toEqual(expect.any(String));
  });

  it('lists only B’s own subscriptions, whatever tenantId B names', async () => {
    const own = await h.request({
      method: 'POST',
      url: '/v1/subscriptions',
      body: { webhookUrl: `${rx.url}/b`, events: ['*'] },
      headers: asB,
    });
    for (const url of ['/v1/subscriptions', '/v1/subscriptions?tenantId=tenant-a']) {
      const res = await h.request<{ data: { id: string; tenantId: string }[] }>({
        method: 'GET',
        url,
        headers: asB,
      });
      expect(res.body.data.map((s) => s.id)).toEqual([own.body.id]);
    }
    const forbidden = await h.request({
      method: 'GET',
      url: '/v1/subscriptions?includeDeleted=true',
      headers: asA,
    });
    expect(forbidden.status).toBe(403);
  });

  it('creates in B’s own tenant even when B names another', async () => {
    const res = await h.request({
      method: 'POST',
      url: '/v1/subscriptions?tenantId=tenant-a',
      body: { webhookUrl: `${rx.url}/b2`, events: ['*'] },
      headers: asB,
    });
    expect(res.status).toBe(201);
    expect(res.body.tenantId).toBe('tenant-b');
  });

  it('A’s own token reaches the same routes (the 404s above are isolation, not breakage)', async () => {
    for (const [method, url, body] of routes(subA.id).slice(0, 4)) {
      const res = await h.request({
        method,
        url,
        body: method === 'PUT' ? { webhookUrl: `${rx.url}/a`, events: ['*'] } : body,
        headers: asA,
      });
      expect(res.status, `${method} ${url} ${res.raw}`).toBe(200);
    }
  });
});
