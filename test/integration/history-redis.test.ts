// The delivery and event lists on the Redis history (no DATABASE_URL): messageId, eventId and the
// time window work; what Redis cannot serve answers 400 unsupported_filter naming DATABASE_URL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../src/domain/delivery-record.js';
import { startHarness, tenantAuth, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

let h: Harness;
let rx: Receiver;
const tenant = `t_rh_${Math.random().toString(36).slice(2)}`;
const ids: string[] = [];

beforeAll(async () => {
  rx = await startReceiver();
  h = await startHarness();
  const sub = await h.request<{ id: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenant}`,
    body: { webhookUrl: `${rx.url}/hook`, events: ['message.*'] },
  });
  expect(sub.status, sub.raw).toBe(201);
  for (let i = 0; i < 6; i++) {
    const id = `evt_rh_${i}_${Math.random().toString(36).slice(2)}`;
    ids.push(id);
    const res = await h.request({
      method: 'POST',
      url: '/v1/events',
      body: {
        id,
        tenantId: tenant,
        type: 'message.delivered',
        channel: 'sms',
        messageId: i < 3 ? 'sms_a' : `sms_${i}`,
      },
    });
    expect(res.status, res.raw).toBe(202);
  }
  await rx.waitFor(6);
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
});

describe('lists on the Redis history', () => {
  it('finds a message’s deliveries, newest first, paged', async () => {
    const first = await h.request<{ data: DeliveryRecord[]; nextCursor: string | null }>({
      method: 'GET',
      url: `/v1/deliveries?tenantId=${tenant}&messageId=sms_a&limit=2`,
    });
    expect(first.status, first.raw).toBe(200);
    expect(first.body.data).toHaveLength(2);
    const rest = await h.request<{ data: DeliveryRecord[]; nextCursor: string | null }>({
      method: 'GET',
      url: `/v1/deliveries?tenantId=${tenant}&messageId=sms_a&limit=2&cursor=${first.body.nextCursor}`,
    });
    expect(rest.body.data).toHaveLength(1);
    expect(rest.body.nextCursor).toBeNull();
    const all = [...first.body.data, ...rest.body.data].map((d) => d.eventId).sort();
    expect(all).toEqual(ids.slice(0, 3).sort());
  });

  it('filters by eventId and by the time window', async () => {
    const one = await h.request<{ data: DeliveryRecord[] }>({
      method: 'GET',
      url: `/v1/deliveries?tenantId=${tenant}&eventId=${ids[4]}`,
    });
    expect(one.body.data.map((d) => d.eventId)).toEqual([ids[4]]);
    const none = await h.request<{ data: DeliveryRecord[] }>({
      method: 'GET',
      url: `/v1/deliveries?tenantId=${tenant}&until=${new Date(Date.now() - 3_600_000).toISOString()}`,
    });
    expect(none.body.data).toEqual([]);
  });

  it('lists a message’s events', async () => {
    const res = await h.request<{ data: { id: string }[] }>({
      method: 'GET',
      url: `/v1/events?tenantId=${tenant}&messageId=sms_a`,
    });
    expect(res.status, res.raw).toBe(200);
    expect(res.body.data.map((e) => e.id).sort()).toEqual(ids.slice(0, 3).sort());
  });

  it.each([
    ['/v1/deliveries', 'eventType=message.delivered', 'eventType'],
    ['/v1/events', 'type=message.delivered', 'type'],
    ['/v1/events', 'since=0', 'since'],
    ['/v1/events', '', 'messageId'],
  ])('%s?%s answers 400 unsupported_filter naming DATABASE_URL', async (path, query, field) => {
    const res = await h.request<{ code: string; detail: string; errors: { path: string }[] }>({
      method: 'GET',
      url: `${path}?tenantId=${tenant}${query ? `&${query}` : ''}`,
    });
    expect(res.status, res.raw).toBe(400);
    expect(res.body.code).toBe('unsupported_filter');
    expect(res.body.detail).toContain('DATABASE_URL');
    expect(res.body.errors[0]!.path).toBe(`/querystring/${field}`);
  });
});

describe('the platform’s ops deliveries in a tenant’s lists', () => {
  it('are listed for platform callers and hidden from the tenant’s own clients', async () => {
    const { redis, deliveries } = h.hookline.ctx;
    const eventId = ids[5]!;
    const [event] = await deliveries.getEvents([{ tenantId: tenant, id: eventId }]);
    const opsId = `dlv_ops_${Math.random().toString(36).slice(2)}`;
    const pipe = redis.pipeline();
    deliveries.addPending(
      pipe,
      [
        {
          event: event!,
          deliveries: [{ id: opsId, eventId, subscriptionId: 'ops', tenantId: tenant, target: 'ops' }],
        },
      ],
      Date.now(),
    );
    await pipe.exec();
    const url = `/v1/deliveries?tenantId=${tenant}&eventId=${eventId}`;
    const asAdmin = await h.request<{ data: DeliveryRecord[] }>({ method: 'GET', url });
    expect(asAdmin.body.data.map((d) => d.id)).toContain(opsId);
    const asTenant = await h.request<{ data: DeliveryRecord[] }>({
      method: 'GET',
      url: `/v1/deliveries?eventId=${eventId}`,
      headers: await tenantAuth(h, tenant),
    });
    expect(asTenant.status, asTenant.raw).toBe(200);
    expect(asTenant.body.data.length).toBeGreaterThan(0);
    expect(asTenant.body.data.map((d) => d.id)).not.toContain(opsId);
  });
});
