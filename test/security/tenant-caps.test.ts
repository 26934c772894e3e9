// Bounded per tenant: a tenant's live subscriptions and API clients are capped (409
// limit_exceeded, atomically, so parallel creates cannot overshoot), and a subscription's filter
// is bounded in JSON bytes and nesting (400 at /filter), so no tenant can grow the process's
// memory (every live subscription and its filter is cached and evaluated per event).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { expectProblem, uniqueTenant } from './support.js';

let h: Harness;
const MAX_SUBS = 3;
const MAX_CLIENTS = 2;

beforeAll(async () => {
  h = await startHarness(
    { MAX_SUBSCRIPTIONS_PER_TENANT: String(MAX_SUBS), MAX_CLIENTS_PER_TENANT: String(MAX_CLIENTS) },
    { workers: false },
  );
});
afterAll(async () => {
  await h?.close();
});

const subscription = (extra: Record<string, unknown> = {}) => ({
  webhookUrl: `https://127.0.0.1/caps/${Math.random().toString(36).slice(2)}`,
  events: ['*'],
  ...extra,
});

const create = (tenant: string, extra?: Record<string, unknown>) =>
  h.request<{ id: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenant}`,
    body: subscription(extra),
  });

async function fill(tenant: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await create(tenant);
    expect(res.status, res.raw).toBe(201);
    ids.push(res.body.id);
  }
  return ids;
}

const remove = async (tenant: string, id: string) =>
  expect(
    (await h.request({ method: 'DELETE', url: `/v1/subscriptions/${id}?tenantId=${tenant}` })).status,
  ).toBe(204);

describe(`subscriptions per tenant (MAX_SUBSCRIPTIONS_PER_TENANT=${MAX_SUBS})`, () => {
  it('past the cap a create is 409 limit_exceeded naming the limit; other tenants are unaffected', async () => {
    const tenant = uniqueTenant('subcap');
    await fill(tenant, MAX_SUBS);
    const refused = expectProblem(await create(tenant), 409, 'limit_exceeded');
    expect(refused).toMatchObject({ limit: MAX_SUBS });
    expect(refused.detail).toMatch(/limit of 3 subscriptions/);
    expect((await create(uniqueTenant('other'))).status).toBe(201);
  });

  it('deleting frees a slot; restoring takes one, and is refused when the tenant is full', async () => {
    const tenant = uniqueTenant('subcap');
    const [first, second] = await fill(tenant, MAX_SUBS);
    await remove(tenant, first!);
    expect((await create(tenant)).status).toBe(201);
    const restore = (id: string) =>
      h.request({ method: 'POST', url: `/v1/subscriptions/${id}/restore?tenantId=${tenant}` });
    expectProblem(await restore(first!), 409, 'limit_exceeded');
    await remove(tenant, second!);
    expect((await restore(first!)).status).toBe(200);
    expectProblem(await create(tenant), 409, 'limit_exceeded');
  });

  it('a replace or patch of a subscription takes no slot', async () => {
    const tenant = uniqueTenant('subcap');
    const [id] = await fill(tenant, MAX_SUBS);
    const res = await h.request({
      method: 'PATCH',
      url: `/v1/subscriptions/${id}?tenantId=${tenant}`,
      body: { description: 'changed' },
    });
    expect(res.status, res.raw).toBe(200);
  });

  it('parallel creates at the cap minus one: exactly one succeeds', async () => {
    const tenant = uniqueTenant('subrace');
    await fill(tenant, MAX_SUBS - 1);
    const results = await Promise.all(Array.from({ length: 8 }, () => create(tenant)));
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) expectProblem(r, 409, 'limit_exceeded');
    const list = await h.request<{ data: unknown[] }>({
      method: 'GET',
      url: `/v1/subscriptions?tenantId=${tenant}`,
    });
    expect(list.body.data).toHaveLength(MAX_SUBS);
  });

  it('a tenant saved before the cap existed is counted from its stored subscriptions', async () => {
    const tenant = uniqueTenant('legacy');
    const { subscriptionStore: store, keys, redis } = h.hookline.ctx;
    const subs = [];
    for (let i = 0; i < 3; i++) subs.push(await store.create(tenant, subscription() as never));
    await store.softDelete(subs[0]!);
    await redis.del(keys.tenantLiveSubs(tenant)); // as 0.3 left it: no live set
    expect((await create(tenant)).status).toBe(201); // 2 live + 1
    expectProblem(await create(tenant), 409, 'limit_exceeded');
  });
});

describe('filter size and depth (defaults: 16 KB, 10 levels)', () => {
  const tenant = uniqueTenant('filters');
  const senders = (bytes: number) => ({
    path: '$.sender',
    op: 'in',
    value: Array.from({ length: Math.ceil(bytes / 12) }, (_, i) => `s${String(i).padStart(8, '0')}`),
  });
  /** `levels` and-groups around a leaf with an array value: JSON depth 2·levels + 2. */
  const grouped = (levels: number): Record<string, unknown> =>
    levels === 0 ? { path: '$.channel', op: 'in', value: ['sms'] } : { and: [grouped(levels - 1)] };

  it('a filter over MAX_FILTER_BYTES is 400 at /filter, on create and on patch; just under is saved', async () => {
    const big = senders(17 * 1024);
    expect(JSON.stringify(big).length).toBeGreaterThan(16 * 1024);
    const refused = expectProblem(await create(tenant, { filter: big }), 400, 'validation_error', '/filter');
    expect(refused.errors).toHaveLength(1);
    expect(refused.detail).toMatch(/the limit is 16384/);

    const ok = await create(tenant, { filter: senders(15 * 1024) });
    expect(ok.status, ok.raw.slice(0, 300)).toBe(201);
    const patch = await h.request({
      method: 'PATCH',
      url: `/v1/subscriptions/${ok.body.id}?tenantId=${tenant}`,
      body: { filter: big },
    });
    expectProblem(patch, 400, 'validation_error', '/filter');
  });

  it('the 744 KB filters that grew the process by 240 MB are refused, not stored', async () => {
    const res = await create(tenant, { filter: senders(744 * 1024) });
    expectProblem(res, 400, 'validation_error', '/filter');
  });

  it('a filter nested deeper than MAX_FILTER_DEPTH is 400 at /filter; at the limit it is saved', async () => {
    expect((await create(tenant, { filter: grouped(4) })).status).toBe(201); // depth 10
    expectProblem(await create(tenant, { filter: grouped(5) }), 400, 'validation_error', '/filter');
    let nots: Record<string, unknown> = { path: '$.channel', op: 'exists' };
    for (let i = 0; i < 10; i++) nots = { not: nots };
    expectProblem(await create(tenant, { filter: nots }), 400, 'validation_error', '/filter');
    let value: unknown = 'sms';
    for (let i = 0; i < 12; i++) value = [value];
    const deepValue = await create(tenant, { filter: { path: '$.channel', op: 'in', value } });
    expectProblem(deepValue, 400, 'validation_error', '/filter');
  });
});

describe(`API clients per tenant (MAX_CLIENTS_PER_TENANT=${MAX_CLIENTS})`, () => {
  const newClient = (tenantId?: string) =>
    h.request({
      method: 'POST',
      url: '/v1/clients',
      body: { ...(tenantId ? { tenantId } : {}), name: 'capped', scopes: ['webhooks:read'] },
    });

  it('past the cap a create is 409 limit_exceeded; another tenant is unaffected', async () => {
    const tenant = uniqueTenant('clients');
    for (let i = 0; i < MAX_CLIENTS; i++) expect((await newClient(tenant)).status).toBe(201);
    const refused = expectProblem(await newClient(tenant), 409, 'limit_exceeded');
    expect(refused).toMatchObject({ limit: MAX_CLIENTS });
    expect((await newClient(uniqueTenant('clients'))).status).toBe(201);
  });

  it('platform clients count as one more tenant', async () => {
    for (let i = 0; i < MAX_CLIENTS; i++) expect((await newClient()).status).toBe(201);
    expectProblem(await newClient(), 409, 'limit_exceeded');
  });

  it('parallel creates cannot overshoot', async () => {
    const tenant = uniqueTenant('clientrace');
    const results = await Promise.all(Array.from({ length: 6 }, () => newClient(tenant)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(MAX_CLIENTS);
    for (const r of results.filter((x) => x.status !== 201)) expectProblem(r, 409, 'limit_exceeded');
  });
});
