// Hookline without DATABASE_URL: the API lists what Redis keeps through the Redis history store,
// with the filters it serves (a message's deliveries and events, each filter narrowing them,
// cursor paging, tenant isolation) and 400 unsupported_filter for the ones it does not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../src/domain/delivery-record.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

let h: Harness;
let rx: Receiver;
const tenant = `t_${Math.random().toString(36).slice(2)}`;
const other = `o_${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  rx = await startReceiver((r) => (r.path === '/fail' ? { status: 400, body: 'no' } : { status: 200 }));
  h = await startHarness({ BREAKER_FAILURES: '1000' });
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
});

type List<T> = { data: T[]; nextCursor: string | null };

async function subscribe(path: string) {
  const res = await h.request<{ id: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenant}`,
    body: { webhookUrl: `${rx.url}${path}`, events: ['message.*'], maxRetries: 0 },
  });
  expect(res.status, res.raw).toBe(201);
  return res.body.id;
}

/** Every item of a list, following cursors. */
async function all<T>(url: string, limit: number): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const res: { status: number; raw: string; body: List<T> } = await h.request({
      method: 'GET',
      url: `${url}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
    });
    expect(res.status, res.raw).toBe(200);
    out.push(...res.body.data);
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

const newestFirst = (xs: { createdAt: string; id: string }[]) =>
  xs.every(
    (x, i) =>
      i === 0 ||
      Date.parse(xs[i - 1]!.createdAt) > Date.parse(x.createdAt) ||
      (xs[i - 1]!.createdAt === x.createdAt && xs[i - 1]!.id > x.id),
  );

describe('history in Redis', () => {
  let okSub = '';
  let failSub = '';
  const sent: { id: string; messageId: string; type: string }[] = [];

  beforeAll(async () => {
    okSub = await subscribe('/ok');
    failSub = await subscribe('/fail');
    for (let i = 0; i < 8; i++) {
      const e = {
        id: `evt_${Math.random().toString(36).slice(2)}`,
        tenantId: tenant,
        type: i === 7 ? 'message.reply' : 'message.delivered',
        channel: 'sms',
        messageId: i < 3 || i === 7 ? 'sms_123' : `sms_${i}`,
        ...(i === 7 ? { data: { text: 'STOP' } } : {}),
      };
      sent.push(e);
      const res = await h.request({ method: 'POST', url: '/v1/events', body: e });
      expect(res.status, res.raw).toBe(202);
    }
    await rx.waitFor(sent.length * 2);
    // Wait for the failed deliveries' records too (the receiver saw the attempt first).
    await h.until(async () => {
      const failed = await all<DeliveryRecord>(`/v1/deliveries?tenantId=${tenant}&status=failed`, 250);
      return failed.length === sent.length;
    });
  });

  it('finds a message’s deliveries, each filter narrowing them, newest first', async () => {
    const about = await all<DeliveryRecord>(`/v1/deliveries?tenantId=${tenant}&messageId=sms_123`, 3);
    expect(about).toHaveLength(8);
    expect(new Set(about.map((d) => d.id)).size).toBe(8);
    expect(newestFirst(about)).toBe(true);
    const failed = await all<DeliveryRecord>(
      `/v1/deliveries?tenantId=${tenant}&messageId=sms_123&status=failed&subscriptionId=${failSub}`,
      250,
    );
    expect(failed).toHaveLength(4);
    expect(failed.every((d) => d.subscriptionId === failSub && d.status === 'failed')).toBe(true);
    const byEvent = await all<DeliveryRecord>(
      `/v1/deliveries?tenantId=${tenant}&eventId=${sent[3]!.id}&subscriptionId=${okSub}`,
      250,
    );
    expect(byEvent.map((d) => [d.eventId, d.subscriptionId])).toEqual([[sent[3]!.id, okSub]]);
    const mismatch = await all<DeliveryRecord>(
      `/v1/deliveries?tenantId=${tenant}&eventId=${sent[3]!.id}&messageId=sms_123`,
      250,
    );
    expect(mismatch).toEqual([]);
    const future = await all(`/v1/deliveries?tenantId=${tenant}&since=${Date.now() + 60_000}`, 250);
    expect(future).toEqual([]);
  });

  it('pages a tenant’s deliveries newest first with a cursor, no record twice', async () => {
    const seen = await all<DeliveryRecord>(`/v1/deliveries?tenantId=${tenant}`, 3);
    expect(seen).toHaveLength(sent.length * 2);
    expect(new Set(seen.map((d) => d.id)).size).toBe(seen.length);
    expect(newestFirst(seen)).toBe(true);
  });

  it('lists a message’s events, by cursor', async () => {
    const events = await all<{ id: string }>(`/v1/events?tenantId=${tenant}&messageId=sms_123`, 1);
    expect(events.map((e) => e.id).sort()).toEqual([0, 1, 2, 7].map((i) => sent[i]!.id).sort());
  });

  it('answers 400 unsupported_filter for what only PostgreSQL serves', async () => {
    for (const url of [
      `/v1/deliveries?tenantId=${tenant}&eventType=message.reply`,
      `/v1/events?tenantId=${tenant}&messageId=sms_123&type=message.reply`,
      `/v1/events?tenantId=${tenant}&messageId=sms_123&since=0`,
      `/v1/events?tenantId=${tenant}`,
    ]) {
      const res = await h.request<{ code: string }>({ method: 'GET', url });
      expect(res.status, url).toBe(400);
      expect(res.body.code, url).toBe('unsupported_filter');
    }
  });

  it('shows another tenant nothing of this one', async () => {
    expect(await all(`/v1/deliveries?tenantId=${other}&messageId=sms_123`, 250)).toEqual([]);
    expect(await all(`/v1/deliveries?tenantId=${other}&eventId=${sent[0]!.id}`, 250)).toEqual([]);
    expect(await all(`/v1/events?tenantId=${other}&messageId=sms_123`, 250)).toEqual([]);
  });
});
