// Each event is stored once — a hash holding its JSON (field `e`) and its delivery ids — and
// delivery jobs carry only its id. Jobs queued by older versions (whole event inside) still
// deliver; a job whose stored event has expired is cancelled without sending anything.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { normalizeEvent, type HooklineEvent } from '../../src/domain/event.js';
import { createLogger } from '../../src/logger.js';
import { deliveryJobOptions } from '../../src/pipeline/jobs.js';
import type { DeliveryJobData } from '../../src/pipeline/jobs.js';
import { execAll } from '../../src/store/delivery-store.js';
import { eventFromRedis } from '../../src/store/delivery-layout.js';
import { addPendingDelivery, scanKeys, startHarness, type Harness } from '../helpers/harness.js';
import { deliveryIdV03 } from '../helpers/legacy.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

type Line = Record<string, unknown>;
let lines: Line[];
let h: Harness;
let rx: Receiver;
let tenant: string;

// A Hookline and a receiver per test: each test owns its key prefix, deleted by close().
beforeEach(async () => {
  lines = [];
  tenant = `t_store_${Math.random().toString(36).slice(2)}`;
  const logger = createLogger(
    'warn',
    {},
    { write: (msg: string) => void lines.push(JSON.parse(msg) as Line) },
  );
  h = await startHarness({}, { logger });
  rx = await startReceiver();
});
afterEach(async () => {
  await h?.close();
  await rx?.close();
});

interface Sub {
  id: string;
  maxRetries: number;
}

async function subscribe(path: string): Promise<Sub> {
  const res = await h.request<Sub>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenant}`,
    body: { webhookUrl: `${rx.url}${path}`, events: ['message.*'] },
  });
  expect(res.status, res.raw).toBe(201);
  return res.body;
}

async function post(url: string) {
  const res = await h.request({ method: 'POST', url });
  expect(res.status, res.raw).toBe(200);
}

interface EventView {
  event: HooklineEvent;
  deliveries: { id: string; subscriptionId: string; status: string }[];
}

const getEvent = async (id: string) =>
  (await h.request<EventView>({ method: 'GET', url: `/v1/events/${id}?tenantId=${tenant}` })).body;

const newEvent = (messageId: string): HooklineEvent =>
  normalizeEvent({
    id: `evt_${Math.random().toString(36).slice(2)}`,
    tenantId: tenant,
    type: 'message.delivered',
    channel: 'sms',
    messageId,
    sender: 'ACME',
    recipient: '15551230000',
  });

/**
 * A pending delivery record for `event` as a fan-out writes it, then the stored event removed:
 * the worker can only get the event from the job (old shape) or not at all (expired).
 */
async function pendingWithoutStoredEvent(event: HooklineEvent, sub: Sub): Promise<string> {
  const { redis, keys, deliveries } = h.hookline.ctx;
  const id = await addPendingDelivery(h, event, sub.id);
  expect(await deliveries.getStatus(id)).toBe('pending');
  expect(await redis.unlink(keys.event(event.tenantId, event.id))).toBe(1);
  return id;
}

async function addJob(id: string, sub: Sub, event: HooklineEvent, data: DeliveryJobData) {
  const opts = deliveryJobOptions(id, sub.maxRetries, h.hookline.ctx.deliveries.ttlSeconds);
  await h.hookline.ctx.deliveriesQueue.add(event.type, data, opts);
}

const statusIs = (id: string, status: string) => async () =>
  (await h.hookline.ctx.deliveries.getStatus(id)) === status;

describe('event storage', () => {
  it('stores a fanned-out event once, as a hash of its JSON and its delivery ids; jobs carry its id', async () => {
    const { redis, keys, deliveriesQueue } = h.hookline.ctx;
    const prefix = h.config.REDIS_PREFIX;
    // Paused: the deliveries are held as delayed jobs, so their data can be read before they run.
    const subs = await Promise.all(['/a', '/b', '/c'].map((p) => subscribe(p)));
    for (const s of subs) await post(`/v1/subscriptions/${s.id}/pause`);

    const input = { tenantId: tenant, type: 'message.delivered', channel: 'sms', messageId: 'm-store' };
    const pub = await h.request<{ id: string }>({ method: 'POST', url: '/v1/events', body: input });
    expect(pub.status, pub.raw).toBe(202);
    const eventId = pub.body.id;
    await h.until(async () => {
      const held = await Promise.all(subs.map((s) => redis.scard(keys.subHeld(s.id))));
      return held.every((n) => n === 1);
    });

    const view = await getEvent(eventId);
    expect(view.deliveries).toHaveLength(3);
    const ids = view.deliveries.map((d) => d.id);
    for (const d of view.deliveries) {
      const job = await deliveriesQueue.getJob(d.id);
      expect(job, d.id).toBeDefined();
      // Named by its role; its data names the delivery and the event, nothing more.
      expect([job!.name, job!.data]).toEqual([
        'deliver',
        { d: d.id, s: d.subscriptionId, e: eventId, t: tenant },
      ]);
      expect(typeof job!.data.e).toBe('string');
    }
    expect(view.deliveries.map((d) => d.subscriptionId).sort()).toEqual(subs.map((s) => s.id).sort());

    for (const s of subs) await post(`/v1/subscriptions/${s.id}/resume`);
    const got = await rx.waitFor(3, { filter: (r) => r.headers['webhook-id'] === eventId });
    expect(got.map((r) => r.path).sort()).toEqual(['/a', '/b', '/c']);
    for (const r of got) expect(JSON.parse(r.body).data).toMatchObject({ messageId: 'm-store' });
    await h.until(async () => (await getEvent(eventId)).deliveries.every((d) => d.status === 'succeeded'));

    // Event ids are per tenant: the key names the tenant, then the id.
    const key = `${prefix}:evt:${tenant}|${eventId}`;
    expect(keys.event(tenant, eventId)).toBe(key);
    expect(await redis.type(key)).toBe('hash');
    const hash = await redis.hgetall(key);
    const { e, ...deliveryFields } = hash;
    const stored = eventFromRedis(e!, { tenantId: tenant, id: eventId });
    expect(stored).toEqual(view.event);
    expect(stored).toMatchObject({ id: eventId, ...input });
    expect(Object.keys(deliveryFields).sort()).toEqual([...ids].sort());
    expect(Object.values(deliveryFields)).toEqual(['', '', '']);
    // It expires with the delivery records it belongs to, and the hold (paused subscriptions)
    // kept it past the retention for as long as the deliveries waited.
    expect(await redis.pttl(key)).toBeGreaterThan(0);
    expect(await redis.ttl(key)).toBeGreaterThan(h.hookline.ctx.deliveries.ttlSeconds);

    // Nothing else is stored per event: no separate list of its deliveries.
    expect(await redis.exists(`${key}:dlv`)).toBe(0);
    const eventKeys: string[] = [];
    for await (const page of scanKeys(redis, `${prefix}:evt:`)) eventKeys.push(...page);
    expect(eventKeys).toEqual([key]);
    // Records no longer repeat their own id.
    for (const id of ids) expect(await redis.hexists(keys.delivery(id), 'id')).toBe(0);
  });

  it('still delivers a job queued by an older version, with the whole event in its data', async () => {
    const sub = await subscribe('/old');
    const event = newEvent('m-old-shape');
    const id = await pendingWithoutStoredEvent(event, sub);

    await addJob(id, sub, event, { d: id, s: sub.id, e: event });
    const [req] = await rx.waitFor(1, { filter: (r) => r.path === '/old' });
    expect(req!.headers['webhook-id']).toBe(event.id);
    expect(JSON.parse(req!.body)).toMatchObject({
      type: 'message.delivered',
      data: { messageId: 'm-old-shape', channel: 'sms', status: 'delivered' },
    });

    await h.until(statusIs(id, 'succeeded'));
    const record = await h.hookline.ctx.deliveries.get(id);
    expect(record).toMatchObject({ id, eventId: event.id, subscriptionId: sub.id, status: 'succeeded' });
    expect(record!.attempts.map((a) => a.statusCode)).toEqual([200]);
    expect(rx.requests.filter((r) => r.path === '/old')).toHaveLength(1);
  });

  it('cancels a job whose stored event is gone, sending nothing', async () => {
    const { deliveriesQueue } = h.hookline.ctx;
    const sub = await subscribe('/expired');
    const event = newEvent('m-expired');
    const id = await pendingWithoutStoredEvent(event, sub);

    await addJob(id, sub, event, { d: id, s: sub.id, e: event.id, t: tenant });
    await h.until(statusIs(id, 'cancelled'));
    // The job finished (removed on completion) rather than being retried.
    await h.until(async () => (await deliveriesQueue.getJob(id)) === undefined);
    expect(await h.hookline.ctx.deliveries.get(id)).toMatchObject({ status: 'cancelled', attempts: [] });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        deliveryId: id,
        eventId: event.id,
        msg: 'delivery cancelled: its event is no longer stored',
      }),
    );

    // The subscription itself is reachable: an event that is stored reaches it, and only that one.
    const live = await h.request<{ id: string }>({
      method: 'POST',
      url: '/v1/events',
      body: { tenantId: tenant, type: 'message.delivered', channel: 'sms', messageId: 'm-live' },
    });
    expect(live.status, live.raw).toBe(202);
    const got = await rx.waitFor(1, { filter: (r) => r.path === '/expired' });
    expect(got.map((r) => r.headers['webhook-id'])).toEqual([live.body.id]);
  });

  it('reads events stored before 0.2 (a string and a set); a re-drive stores the event under its tenant', async () => {
    const { redis, keys } = h.hookline.ctx;
    const sub = await subscribe('/legacy');
    const event = newEvent('m-legacy');
    const oldId = deliveryIdV03(event.id, sub.id);
    // The layout 0.1 wrote: the event as a string, its delivery ids in a set, a record with `id`.
    const ttl = 3600;
    await execAll(
      redis
        .pipeline()
        .set(keys.legacyEvent(event.id), JSON.stringify(event), 'EX', ttl)
        .sadd(keys.legacyEventDeliveries(event.id), oldId)
        .expire(keys.legacyEventDeliveries(event.id), ttl)
        .hset(keys.delivery(oldId), {
          id: oldId,
          eventId: event.id,
          subscriptionId: sub.id,
          tenantId: tenant,
          target: 'subscription',
          createdAt: event.occurredAt,
          status: 'failed',
          updatedAt: event.occurredAt,
          nextAttemptAt: '',
        })
        .expire(keys.delivery(oldId), ttl),
    );

    // Read as it is: the event and its one delivery.
    const before = await getEvent(event.id);
    expect(before.event).toEqual(event);
    expect(before.deliveries.map((d) => [d.id, d.status])).toEqual([[oldId, 'failed']]);

    // Re-driving it writes through the new path: the event is stored again, under its tenant.
    const retried = await h.request<{ id: string }>({ method: 'POST', url: `/v1/deliveries/${oldId}/retry` });
    expect(retried.status, retried.raw).toBe(202);
    const newId = retried.body.id;
    expect(newId).not.toBe(oldId);
    await rx.waitFor(1);
    expect(rx.requests[0]!.headers['webhook-id']).toBe(event.id);
    await h.until(statusIs(newId, 'succeeded'));

    expect(await redis.type(keys.event(tenant, event.id))).toBe('hash');
    const raw = (await redis.hget(keys.event(tenant, event.id), 'e'))!;
    expect(eventFromRedis(raw, { tenantId: tenant, id: event.id })).toEqual(event);
    const after = await getEvent(event.id);
    expect(after.deliveries.map((d) => d.id).sort()).toEqual([oldId, newId].sort());
    expect(await redis.ttl(keys.event(tenant, event.id))).toBeGreaterThan(ttl);
    // The old copy is left to expire as it was.
    expect(await redis.type(keys.legacyEvent(event.id))).toBe('string');
  });
});
