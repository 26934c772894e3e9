// customHeaders values are secrets (security issue, item 8): sealed in Redis, masked in every
// answer (the test route's echo of the request too), and a masked value sent back unchanged by
// PUT or PATCH keeps the stored one, which is what the receiver keeps getting.
import { describe, expect, it } from 'vitest';
import { withHarnessAndReceiver, type Harness } from '../helpers/harness.js';
import type { Receiver } from '../helpers/receiver.js';
import { uniqueTenant } from './support.js';

let h: Harness;
let rx: Receiver;
const tenant = uniqueTenant('chdr');
const API_KEY = 'api-key-0123456789abcdef';
const SHORT = 'k-123';

withHarnessAndReceiver((started) => ({ h, rx } = started));

async function createWithHeaders(path: string) {
  const res = await h.request<{ id: string; customHeaders: Record<string, string> }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenant}`,
    body: {
      webhookUrl: `${rx.url}${path}`,
      events: ['*'],
      customHeaders: { 'X-Api-Key': API_KEY, 'X-Short': SHORT },
    },
  });
  expect(res.status, res.raw).toBe(201);
  return res;
}

/** Sends the sample event through the test route; returns the request the receiver got. */
async function sendTest(id: string, path: string) {
  const before = rx.requests.filter((r) => r.path === path).length;
  const res = await h.request<{ ok: boolean; request: { headers: Record<string, string> } }>({
    method: 'POST',
    url: `/v1/subscriptions/${id}/test`,
  });
  expect(res.body.ok, res.raw).toBe(true);
  const got = await rx.waitFor(before + 1, { filter: (r) => r.path === path });
  return { res, received: got[before]! };
}

describe('customHeaders values', () => {
  it('are sealed in Redis and masked in every answer, the test route’s included', async () => {
    const created = await createWithHeaders('/c/1');
    expect(created.body.customHeaders).toEqual({ 'X-Api-Key': 'api-****', 'X-Short': '****' });
    const { id } = created.body;

    const raw = (await h.hookline.ctx.redis.get(h.hookline.ctx.keys.sub(id)))!;
    expect(raw).not.toContain(API_KEY);
    expect(raw).not.toContain(SHORT);
    const stored = JSON.parse(raw) as { customHeaders: Record<string, string> };
    expect(stored.customHeaders['X-Api-Key']).toMatch(/^enc:v2:/);
    expect(stored.customHeaders['X-Short']).toMatch(/^enc:v2:/);

    const get = await h.request({ method: 'GET', url: `/v1/subscriptions/${id}` });
    const list = await h.request({ method: 'GET', url: `/v1/subscriptions?tenantId=${tenant}` });
    const { res, received } = await sendTest(id, '/c/1');
    for (const answer of [created.raw, get.raw, list.raw, res.raw]) {
      expect(answer).not.toContain(API_KEY);
      expect(answer).not.toContain(SHORT);
    }
    expect(res.body.request.headers['x-api-key']).toBe('api-****');
    // The receiver got the real values.
    expect(received.headers['x-api-key']).toBe(API_KEY);
    expect(received.headers['x-short']).toBe(SHORT);
  });

  it('a GET → PUT round trip and a PATCH echoing the mask keep the stored values', async () => {
    const { id } = (await createWithHeaders('/c/2')).body;
    const view = (await h.request<Record<string, unknown>>({ method: 'GET', url: `/v1/subscriptions/${id}` }))
      .body;
    const { id: _i, tenantId: _t, status: _s, createdAt: _c, updatedAt: _u, ...writable } = view;
    const put = await h.request({
      method: 'PUT',
      url: `/v1/subscriptions/${id}`,
      body: { ...writable, description: 'round trip' },
    });
    expect(put.status, put.raw).toBe(200);
    const patch = await h.request({
      method: 'PATCH',
      url: `/v1/subscriptions/${id}`,
      body: { customHeaders: { 'X-Api-Key': 'api-****', 'X-New': 'new-value-0123456789' } },
    });
    expect(patch.status, patch.raw).toBe(200);
    const stored = await h.hookline.ctx.subscriptionStore.get(id);
    expect(stored?.customHeaders).toEqual({
      'X-Api-Key': API_KEY,
      'X-Short': SHORT,
      'X-New': 'new-value-0123456789',
    });
    const { received } = await sendTest(id, '/c/2');
    expect(received.headers['x-api-key']).toBe(API_KEY);
    expect(received.headers['x-short']).toBe(SHORT);
    expect(received.headers['x-new']).toBe('new-value-0123456789');
    // A new value replaces the stored one; a mask under a name that holds nothing is saved as given.
    const again = await h.request({
      method: 'PATCH',
      url: `/v1/subscriptions/${id}`,
      body: { customHeaders: { 'X-Api-Key': 'api-key-rotated-000000', 'X-Other': 'api-****' } },
    });
    expect(again.status, again.raw).toBe(200);
    expect((await h.hookline.ctx.subscriptionStore.get(id))?.customHeaders).toMatchObject({
      'X-Api-Key': 'api-key-rotated-000000',
      'X-Other': 'api-****',
    });
  });

  it('a record saved before 0.4 (plain values) is still read, and sealed by its next save', async () => {
    const { id } = (await createWithHeaders('/c/4')).body;
    const { redis, keys } = h.hookline.ctx;
    const record = JSON.parse((await redis.get(keys.sub(id)))!) as { customHeaders: Record<string, string> };
    record.customHeaders = { ...record.customHeaders, 'X-Legacy': 'legacy-plain-value' };
    await redis.set(keys.sub(id), JSON.stringify(record));
    expect((await h.hookline.ctx.subscriptionStore.get(id))?.customHeaders).toEqual({
      'X-Api-Key': API_KEY,
      'X-Short': SHORT,
      'X-Legacy': 'legacy-plain-value',
    });
    const patch = await h.request({
      method: 'PATCH',
      url: `/v1/subscriptions/${id}`,
      body: { description: 'x' },
    });
    expect(patch.status, patch.raw).toBe(200);
    expect(await redis.get(keys.sub(id))).not.toContain('legacy-plain-value');
  });
});
