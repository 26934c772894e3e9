// The delivery store against real Redis: fan-outs larger than one command's chunk, how long
// records and events are kept around a waiting delivery, status writes to expired records, and
// the writes and reads of one event-loop turn going out as one command.
import type { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import type { HooklineEvent } from '../../src/domain/event.js';
import { deliveryId } from '../../src/domain/ids.js';
import { destinationKey } from '../../src/pipeline/fanout.js';
import { REPORT_TARGET } from '../../src/pipeline/targets.js';
import {
  execAll,
  PENDING_SLICE,
  type DeliveryStore,
  type PendingBatchItem,
} from '../../src/store/delivery-store.js';
import { withDeliveryStore } from '../helpers/store.js';
import { deliveryIdV03, storeV03Event } from '../helpers/legacy.js';

const TTL = 3600;
let redis: Redis;
let store: DeliveryStore;
const keys = withDeliveryStore(TTL, (opened) => ({ redis, store } = opened));

const event = (id: string) =>
  ({ id, tenantId: 't', type: 'message.delivered', occurredAt: new Date().toISOString() }) as HooklineEvent;
const item = (eventId: string, n: number, sub = (i: number) => `sub_${i % 7}`): PendingBatchItem => ({
  event: event(eventId),
  deliveries: Array.from({ length: n }, (_, i) => ({
    id: `dlv_${eventId}_${i}`,
    eventId,
    subscriptionId: sub(i),
    tenantId: 't',
  })),
});

async function fanOut(batch: PendingBatchItem[]): Promise<string[]> {
  const pipe = redis.pipeline();
  const statusesOf = store.addPending(pipe, batch, Date.now());
  return statusesOf(await execAll(pipe));
}

describe('delivery store', () => {
  it('writes a fan-out larger than one command in chunks, statuses in delivery order', async () => {
    // One event over two chunks and a half, an event with no delivery, then three more events.
    const batch = [
      item('evt_big', PENDING_SLICE * 2 + PENDING_SLICE / 2),
      item('evt_none', 0),
      ...['a', 'b', 'c'].map((k) => item(`evt_${k}`, 900)),
    ];
    const total = batch.reduce((n, b) => n + b.deliveries.length, 0);
    const pipe = redis.pipeline();
    const statusesOf = store.addPending(pipe, batch, Date.now());
    expect(pipe.length).toBe(Math.ceil(total / PENDING_SLICE));
    const first = statusesOf(await execAll(pipe));
    expect(first).toHaveLength(total);
    expect(new Set(first)).toEqual(new Set(['pending']));

    // Every delivery is on its event, and the event with none is stored too.
    expect((await store.idsForEvent('t', 'evt_big')).sort()).toEqual(
      batch[0]!.deliveries.map((d) => d.id).sort(),
    );
    expect(await store.idsForEvent('t', 'evt_none')).toEqual([]);
    expect((await store.getEvent('t', 'evt_none'))?.id).toBe('evt_none');

    // A re-run reports each delivery's own status, in order, across chunk boundaries.
    const done = [batch[0]!.deliveries[PENDING_SLICE]!.id, batch[4]!.deliveries[899]!.id];
    for (const id of done) await store.setStatus(id, 'succeeded');
    const again = await fanOut(batch);
    const ids = batch.flatMap((b) => b.deliveries.map((d) => d.id));
    expect(ids.filter((_, i) => again[i] !== 'pending')).toEqual(done);
  });

  it('keeps a record, its attempts and its event past the retention while the next attempt waits', async () => {
    await fanOut([item('evt_wait', 1)]);
    const id = 'dlv_evt_wait_0';
    expect(await redis.ttl(keys.event('t', 'evt_wait'))).toBeLessThanOrEqual(TTL);
    const attempt = {
      n: 1,
      startedAt: new Date().toISOString(),
      durationMs: 5,
      statusCode: 500,
      error: { code: 'http_error', message: 'subscriber answered 500' },
      responseHeaders: {},
      responseBody: '',
    };
    const waitMs = 2 * 3600_000;
    await store.recordAttempt(
      id,
      { tenantId: 't', id: 'evt_wait' },
      attempt,
      'retrying',
      Date.now() + waitMs,
    );
    for (const key of [keys.delivery(id), keys.event('t', 'evt_wait')]) {
      expect(await redis.ttl(key), key).toBeGreaterThan(TTL + waitMs / 1000 - 60);
    }
    // The attempts are in the record's own hash: one key a delivery.
    expect(await redis.exists(keys.deliveryAttempts(id))).toBe(0);
    expect((await store.get(id))?.attempts).toEqual([attempt]);
    // A shorter wait later never shortens what an event already has (its other deliveries).
    await store.recordAttempt(id, { tenantId: 't', id: 'evt_wait' }, { ...attempt, n: 2 }, 'succeeded', null);
    expect(await redis.ttl(keys.event('t', 'evt_wait'))).toBeGreaterThan(TTL + waitMs / 1000 - 60);
    expect(await redis.ttl(keys.delivery(id))).toBeLessThanOrEqual(TTL);

    // A held delivery (paused subscription, open breaker) is kept the same way.
    await fanOut([item('evt_held', 1)]);
    await store.keepAlive('dlv_evt_held_0', { tenantId: 't', id: 'evt_held' }, waitMs);
    expect(await redis.ttl(keys.event('t', 'evt_held'))).toBeGreaterThan(TTL + waitMs / 1000 - 60);
    expect(await redis.ttl(keys.delivery('dlv_evt_held_0'))).toBeGreaterThan(TTL + waitMs / 1000 - 60);
  });

  it('keeps one key a delivery (attempts inside), and still reads and updates a record of the older layout', async () => {
    await fanOut([item('evt_one', 1)]);
    const id = 'dlv_evt_one_0';
    const attempt = {
      n: 1,
      startedAt: new Date().toISOString(),
      durationMs: 4,
      statusCode: 200,
      error: null,
      responseHeaders: { 'content-length': '0', 'x-id': 'a' },
      responseBody: 'ok',
    };
    await store.recordAttempt(id, { tenantId: 't', id: 'evt_one' }, attempt, 'succeeded', null);
    const keysOf = await redis.keys(`${keys.delivery(id)}*`);
    expect(keysOf).toEqual([keys.delivery(id)]);
    expect(await store.get(id)).toMatchObject({ status: 'succeeded', attempts: [attempt] });
    expect(await store.progress(id)).toEqual({ status: 'succeeded', attempts: 1 });

    // A record as 0.4 wrote it (names, ISO times, its attempts in a list beside it) stays in
    // that layout as it gets more attempts, a status and a link.
    const old = 'dlv_old_layout';
    const t0 = '2026-03-01T10:00:00.000Z';
    await redis
      .multi()
      .hset(keys.delivery(old), {
        eventId: 'evt_one',
        subscriptionId: 'sub_0',
        tenantId: 't',
        createdAt: t0,
        status: 'retrying',
        updatedAt: t0,
        nextAttemptAt: '',
      })
      .rpush(keys.deliveryAttempts(old), JSON.stringify({ ...attempt, statusCode: 500, responseBody: '' }))
      .expire(keys.delivery(old), TTL)
      .exec();
    await store.recordAttempt(old, { tenantId: 't', id: 'evt_one' }, { ...attempt, n: 2 }, 'succeeded', null);
    expect(await redis.hexists(keys.delivery(old), 'E')).toBe(0);
    expect(await redis.llen(keys.deliveryAttempts(old))).toBe(2);
    expect(await store.get(old)).toMatchObject({
      status: 'succeeded',
      createdAt: t0,
      attempts: [
        { n: 1, statusCode: 500 },
        { n: 2, statusCode: 200 },
      ],
    });
    expect(await store.progress(old)).toEqual({ status: 'succeeded', attempts: 2 });
    await store.setStatus(old, 'cancelled');
    expect(await store.getStatus(old)).toBe('cancelled');
    expect(await redis.hget(keys.delivery(old), 'status')).toBe('cancelled');
  });

  it('does not bring an expired record back when its status is set', async () => {
    await store.setStatus('dlv_expired', 'cancelled');
    expect(await redis.exists(keys.delivery('dlv_expired'))).toBe(0);
    await fanOut([item('evt_live', 1)]);
    await store.setStatus('dlv_evt_live_0', 'cancelled');
    expect(await store.getStatus('dlv_evt_live_0')).toBe('cancelled');
  });

  it('writes the attempts finishing in one turn with one command, and reads an event once per turn', async () => {
    // Calls pass through to Redis: the spies only count them.
    const commands = redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const writes = vi.spyOn(commands, 'hlRecordAttempts');
    const reads = vi.spyOn(commands, 'hlGetEvents');
    try {
      const batch = item('evt_turn', 20);
      await fanOut([batch]);
      const attempt = {
        n: 1,
        startedAt: new Date().toISOString(),
        durationMs: 3,
        statusCode: 200,
        error: null,
        responseHeaders: {},
        responseBody: '',
      };
      await Promise.all(
        batch.deliveries.map((d) =>
          store.recordAttempt(d.id, { tenantId: 't', id: 'evt_turn' }, attempt, 'succeeded', null),
        ),
      );
      expect(writes).toHaveBeenCalledTimes(1);
      const records = await store.getMany(batch.deliveries.map((d) => d.id));
      expect(records.map((r) => [r.status, r.attempts.length])).toEqual(
        batch.deliveries.map(() => ['succeeded', 1]),
      );

      const events = await Promise.all(
        batch.deliveries.map(() => store.loadEvent({ tenantId: 't', id: 'evt_turn' })),
      );
      expect(reads).toHaveBeenCalledTimes(1);
      expect(events.every((e) => e?.id === 'evt_turn')).toBe(true);
    } finally {
      writes.mockRestore();
      reads.mockRestore();
    }
  });
});

describe('delivery store: event ids are per tenant', () => {
  const attempt = {
    n: 1,
    startedAt: new Date().toISOString(),
    durationMs: 3,
    statusCode: 500,
    error: { code: 'http_error', message: 'subscriber answered 500' },
    responseHeaders: {},
    responseBody: '',
  };
  const reportDelivery = (e: HooklineEvent) => ({
    id: deliveryId(e.tenantId, e.id, destinationKey(e.id, REPORT_TARGET)),
    eventId: e.id,
    subscriptionId: REPORT_TARGET,
    tenantId: e.tenantId,
    target: 'deliveryReport',
  });

  it("keeps two tenants' events of the same id apart; a read by id stays within its tenant", async () => {
    const a = { ...event('evt_same'), tenantId: 'tenant-a', messageId: 'm-a' };
    const b = { ...event('evt_same'), tenantId: 'tenant-b', messageId: 'm-b' };
    // Their report destinations are derived from the event id alone but for the tenant.
    const [da, db] = [reportDelivery(a), reportDelivery(b)];
    expect(da.id).not.toBe(db.id);
    const pipe = redis.pipeline();
    const statusesOf = store.addPending(
      pipe,
      [
        { event: a, deliveries: [da] },
        { event: b, deliveries: [db] },
      ],
      Date.now(),
    );
    expect(statusesOf.fresh(await execAll(pipe))).toEqual([true, true]);

    expect((await store.getEvent('tenant-a', 'evt_same'))?.messageId).toBe('m-a');
    expect((await store.getEvent('tenant-b', 'evt_same'))?.messageId).toBe('m-b');
    expect(await store.getEvent('tenant-c', 'evt_same')).toBeUndefined();
    expect(await store.idsForEvent('tenant-a', 'evt_same')).toEqual([da.id]);
    expect(await store.idsForEvent('tenant-b', 'evt_same')).toEqual([db.id]);
    expect(await store.idsForEvent('tenant-c', 'evt_same')).toEqual([]);
    expect((await store.loadEvent({ tenantId: 'tenant-b', id: 'evt_same' }))?.messageId).toBe('m-b');
    expect((await store.get(db.id))?.tenantId).toBe('tenant-b');
  });

  it('reads an event 0.3 stored under its id alone: for its tenant, for the jobs naming it, and after a re-drive', async () => {
    const legacy = { ...event('evt_v03'), tenantId: 'tenant-old', messageId: 'm-old' };
    const [oldId] = await storeV03Event(redis, keys, legacy, ['sub_old'], TTL);
    expect(oldId).toBe(deliveryIdV03('evt_v03', 'sub_old'));

    expect(await store.getEvent('tenant-old', 'evt_v03')).toEqual(legacy);
    expect(await store.getEvent('tenant-new', 'evt_v03')).toBeUndefined();
    expect(await store.idsForEvent('tenant-old', 'evt_v03')).toEqual([oldId]);
    expect(await store.idsForEvent('tenant-new', 'evt_v03')).toEqual([]);
    // A 0.3 job names the event by id alone; its attempts keep that copy alive.
    expect(await store.loadEvent({ id: 'evt_v03' })).toEqual(legacy);
    await store.recordAttempt(oldId!, { id: 'evt_v03' }, attempt, 'retrying', Date.now() + 7_200_000);
    expect(await redis.ttl(`${keys.prefix}:evt:evt_v03`)).toBeGreaterThan(TTL + 7_000);

    // Another tenant's event of the same id is its own; a re-drive stores the old one under its
    // tenant too, and its deliveries are listed with the old ones.
    const other = { ...event('evt_v03'), tenantId: 'tenant-new', messageId: 'm-new' };
    const redriven = { ...reportDelivery(legacy), subscriptionId: 'sub_old', series: 1, retryOf: oldId };
    await fanOut([
      { event: other, deliveries: [reportDelivery(other)] },
      { event: legacy, deliveries: [redriven] },
    ]);
    expect((await store.getEvent('tenant-new', 'evt_v03'))?.messageId).toBe('m-new');
    expect((await store.getEvent('tenant-old', 'evt_v03'))?.messageId).toBe('m-old');
    expect((await store.idsForEvent('tenant-old', 'evt_v03')).sort()).toEqual([oldId, redriven.id].sort());
    expect(await store.idsForEvent('tenant-new', 'evt_v03')).toEqual([reportDelivery(other).id]);
  });
});
