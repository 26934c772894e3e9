// The delivery store against real Redis: fan-outs larger than one command's chunk, how long
// records and events are kept around a waiting delivery, status writes to expired records, and
// the writes and reads of one event-loop turn going out as one command.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testConfig } from '../../src/config.js';
import type { HooklineEvent } from '../../src/domain/event.js';
import { keyspace } from '../../src/redis.js';
import {
  createDeliveryStore,
  execAll,
  PENDING_CHUNK,
  type DeliveryStore,
  type PendingBatchItem,
} from '../../src/store/delivery-store.js';
import { deleteKeys } from '../helpers/harness.js';

const TTL = 3600;
const config = testConfig();
const keys = keyspace(config.REDIS_PREFIX);
let redis: Redis;
let store: DeliveryStore;

beforeAll(() => {
  redis = new Redis(config.REDIS_URL);
  store = createDeliveryStore(redis, keys, TTL);
});
afterAll(async () => {
  await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
  redis.disconnect();
});

const event = (id: string) => ({ id, tenantId: 't', type: 'message.delivered' }) as HooklineEvent;
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
      item('evt_big', PENDING_CHUNK * 2 + 500),
      item('evt_none', 0),
      ...['a', 'b', 'c'].map((k) => item(`evt_${k}`, 900)),
    ];
    const total = batch.reduce((n, b) => n + b.deliveries.length, 0);
    const pipe = redis.pipeline();
    const statusesOf = store.addPending(pipe, batch, Date.now());
    expect(pipe.length).toBe(Math.ceil(total / PENDING_CHUNK));
    const first = statusesOf(await execAll(pipe));
    expect(first).toHaveLength(total);
    expect(new Set(first)).toEqual(new Set(['pending']));

    // Every delivery is on its event, and the event with none is stored too.
    expect((await store.idsForEvent('evt_big')).sort()).toEqual(batch[0]!.deliveries.map((d) => d.id).sort());
    expect(await store.idsForEvent('evt_none')).toEqual([]);
    expect((await store.getEvent('evt_none'))?.id).toBe('evt_none');

    // A re-run reports each delivery's own status, in order, across chunk boundaries.
    const done = [batch[0]!.deliveries[PENDING_CHUNK]!.id, batch[4]!.deliveries[899]!.id];
    for (const id of done) await store.setStatus(id, 'succeeded');
    const again = await fanOut(batch);
    const ids = batch.flatMap((b) => b.deliveries.map((d) => d.id));
    expect(ids.filter((_, i) => again[i] !== 'pending')).toEqual(done);
  });

  it('keeps a record, its attempts and its event past the retention while the next attempt waits', async () => {
    await fanOut([item('evt_wait', 1)]);
    const id = 'dlv_evt_wait_0';
    expect(await redis.ttl(keys.event('evt_wait'))).toBeLessThanOrEqual(TTL);
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
    await store.recordAttempt(id, 'evt_wait', attempt, 'retrying', Date.now() + waitMs);
    for (const key of [keys.delivery(id), keys.deliveryAttempts(id), keys.event('evt_wait')]) {
      expect(await redis.ttl(key), key).toBeGreaterThan(TTL + waitMs / 1000 - 60);
    }
    // A shorter wait later never shortens what an event already has (its other deliveries).
    await store.recordAttempt(id, 'evt_wait', { ...attempt, n: 2 }, 'succeeded', null);
    expect(await redis.ttl(keys.event('evt_wait'))).toBeGreaterThan(TTL + waitMs / 1000 - 60);
    expect(await redis.ttl(keys.delivery(id))).toBeLessThanOrEqual(TTL);

    // A held delivery (paused subscription, open breaker) is kept the same way.
    await fanOut([item('evt_held', 1)]);
    await store.keepAlive('dlv_evt_held_0', 'evt_held', waitMs);
    expect(await redis.ttl(keys.event('evt_held'))).toBeGreaterThan(TTL + waitMs / 1000 - 60);
    expect(await redis.ttl(keys.delivery('dlv_evt_held_0'))).toBeGreaterThan(TTL + waitMs / 1000 - 60);
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
        batch.deliveries.map((d) => store.recordAttempt(d.id, 'evt_turn', attempt, 'succeeded', null)),
      );
      expect(writes).toHaveBeenCalledTimes(1);
      const records = await store.getMany(batch.deliveries.map((d) => d.id));
      expect(records.map((r) => [r.status, r.attempts.length])).toEqual(
        batch.deliveries.map(() => ['succeeded', 1]),
      );

      const events = await Promise.all(batch.deliveries.map(() => store.loadEvent('evt_turn')));
      expect(reads).toHaveBeenCalledTimes(1);
      expect(events.every((e) => e?.id === 'evt_turn')).toBe(true);
    } finally {
      writes.mockRestore();
      reads.mockRestore();
    }
  });
});
