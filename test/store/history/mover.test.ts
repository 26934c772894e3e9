// Moving ended deliveries out of Redis (src/store/history/mover.ts), on real Redis and PostgreSQL:
// reference entries resolve into whole records, the write lands them, and only then do their
// Redis copies go (the event's with its last delivery); a delivery still under way stays.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../src/config.js';
import { keyspace } from '../../../src/redis/client.js';
import { createDeliveryStore, type DeliveryStore } from '../../../src/store/delivery-store.js';
import { createHistoryWriter } from '../../../src/store/history/history-writer.js';
import { createHistoryMover, type HistoryMover } from '../../../src/store/history/mover.js';
import { createHistoryOutbox, type HistoryOutbox } from '../../../src/store/history/outbox.js';
import { createPgHistoryStore, type PgHistoryStore } from '../../../src/store/history/pg-history-store.js';
import { createRecentHistory } from '../../../src/store/history/recent.js';
import { MARK_REDRIVEN } from '../../../src/store/mark-redriven.js';
import { deleteKeys } from '../../helpers/harness.js';
import { migratedSchema, type TestSchema } from '../../helpers/pg.js';
import { makeAttempt, makeEvent, tag } from './fixtures.js';

const config = { ...testConfig(), REDIS_PREFIX: `{hl-mover-${tag()}}` };
const keys = keyspace(config.REDIS_PREFIX);
let redis: Redis;
let db: TestSchema;
let pg: PgHistoryStore;
let live: DeliveryStore;
let mover: HistoryMover;
let outbox: HistoryOutbox;

beforeAll(async () => {
  redis = new Redis(config.REDIS_URL);
  db = await migratedSchema();
  pg = createPgHistoryStore(db.pool, { retentionDays: 7 });
  live = createDeliveryStore(redis, keys, 3_600);
  mover = createHistoryMover(redis, keys, live);
  outbox = createHistoryOutbox(redis, `${config.REDIS_PREFIX}:history`, { maxEntries: 10_000 });
});
afterAll(async () => {
  await db?.drop();
  redis?.disconnect();
  await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
});

/** An event with two deliveries in Redis, as a fan-out leaves them. */
async function fannedOut() {
  const tenant = `t-${tag()}`;
  const event = makeEvent(tenant, Date.now() - 1_000);
  const ids = [`dlv_${tag()}`, `dlv_${tag()}`];
  const pipe = redis.pipeline();
  live.addPending(
    pipe,
    [
      {
        event,
        deliveries: ids.map((id, i) => ({
          id,
          eventId: event.id,
          subscriptionId: `sub_${i}`,
          tenantId: tenant,
        })),
      },
    ],
    Date.now(),
  );
  await pipe.exec();
  return { tenant, event, ids };
}

describe('history mover', () => {
  it('moves an ended delivery to PostgreSQL, then drops its Redis copies; the event goes with the last', async () => {
    const { tenant, event, ids } = await fannedOut();
    await live.recordAttempt(
      ids[0]!,
      { tenantId: tenant, id: event.id },
      makeAttempt(1, Date.now()),
      'succeeded',
      null,
    );
    expect(await live.idsForSubscription('sub_0', { limit: 10 })).toContain(ids[0]);
    await outbox.push([{ moved: { delivery: ids[0]! } }]);
    const writer = createHistoryWriter({ store: pg, outbox, mover, intervalMs: 10 });
    expect(await writer.drainOnce()).toBe(1);

    const stored = await pg.getDelivery(ids[0]!);
    expect(stored).toMatchObject({ id: ids[0], status: 'succeeded', attempts: [{ n: 1, statusCode: 200 }] });
    expect((await pg.getEvent(tenant, event.id))?.event).toMatchObject({ id: event.id, type: event.type });
    expect(await redis.exists(keys.delivery(ids[0]!), keys.deliveryAttempts(ids[0]!))).toBe(0);
    expect(await live.idsForSubscription('sub_0', { limit: 10 })).not.toContain(ids[0]);
    expect(await live.idsForSubscription('sub_1', { limit: 10 })).toContain(ids[1]);
    // The other delivery is still pending: it and the event stay in Redis.
    expect(await live.getStatus(ids[1]!)).toBe('pending');
    expect(await live.getEvent(tenant, event.id)).toMatchObject({ id: event.id });

    await live.recordAttempt(
      ids[1]!,
      { tenantId: tenant, id: event.id },
      makeAttempt(1, Date.now(), { statusCode: 500 }),
      'failed',
      null,
    );
    await outbox.push([{ moved: { delivery: ids[1]! } }]);
    expect(await writer.drainOnce()).toBe(1);
    expect((await pg.getDelivery(ids[1]!))?.status).toBe('failed');
    expect(await redis.exists(keys.event(tenant, event.id))).toBe(0);
    expect(await outbox.length()).toBe(0);
  });

  it('leaves a delivery that is not ended (nothing to move) and acknowledges the entry', async () => {
    const { ids } = await fannedOut();
    expect(await live.idsForSubscription('sub_0', { limit: 10 })).toContain(ids[0]);
    await outbox.push([{ moved: { delivery: ids[0]! } }]);
    const writer = createHistoryWriter({ store: pg, outbox, mover, intervalMs: 10 });
    await writer.drainOnce();
    expect(await pg.getDelivery(ids[0]!)).toBeUndefined();
    expect(await live.getStatus(ids[0]!)).toBe('pending');
    expect(await outbox.length()).toBe(0);
  });

  it('moves an event without deliveries', async () => {
    const tenant = `t-${tag()}`;
    const event = makeEvent(tenant, Date.now() - 1_000);
    const pipe = redis.pipeline();
    live.addPending(pipe, [{ event, deliveries: [] }], Date.now());
    await pipe.exec();
    await outbox.push([{ moved: { event: { tenantId: tenant, id: event.id } } }]);
    const writer = createHistoryWriter({ store: pg, outbox, mover, intervalMs: 10 });
    await writer.drainOnce();
    expect((await pg.getEvent(tenant, event.id))?.event.id).toBe(event.id);
    expect(await redis.exists(keys.event(tenant, event.id))).toBe(0);
  });

  it('keeps the Redis copies when the write fails, and moves them on the next try', async () => {
    const { tenant, event, ids } = await fannedOut();
    await live.recordAttempt(
      ids[0]!,
      { tenantId: tenant, id: event.id },
      makeAttempt(1, Date.now()),
      'succeeded',
      null,
    );
    await outbox.push([{ moved: { delivery: ids[0]! } }]);
    let fail = true;
    const flaky = {
      write: async (b: Parameters<PgHistoryStore['write']>[0]) => {
        if (fail) throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
        return pg.write(b);
      },
    };
    const writer = createHistoryWriter({ store: flaky, outbox, mover, intervalMs: 10 });
    await expect(writer.drainOnce()).rejects.toThrow('connection refused');
    expect(await live.getStatus(ids[0]!)).toBe('succeeded');
    fail = false;
    await writer.drainOnce();
    expect((await pg.getDelivery(ids[0]!))?.status).toBe('succeeded');
    expect(await live.getStatus(ids[0]!)).toBeUndefined();
  });
});

describe('history mover, with what this process just stored and ended in memory', () => {
  /** A store as compose.ts makes it with DATABASE_URL: the scripts log to the outbox. */
  function logging() {
    const recent = createRecentHistory();
    const store = createDeliveryStore(redis, keys, 3_600, { logEnded: true, recent });
    return { recent, store, mover: createHistoryMover(redis, keys, store, recent) };
  }

  /** An event with one delivery, fanned out by `store`. */
  async function pendingOne(store: DeliveryStore) {
    const tenant = `t-${tag()}`;
    const event = makeEvent(tenant, Date.now() - 1_000);
    const id = `dlv_${tag()}`;
    await store.writePending(
      [{ event, deliveries: [{ id, eventId: event.id, subscriptionId: `sub_${tag()}`, tenantId: tenant }] }],
      Date.now() - 500,
    );
    return { tenant, event, id };
  }

  async function endedOne(store: DeliveryStore) {
    const { tenant, event, id } = await pendingOne(store);
    await store.recordAttempt(
      id,
      { tenantId: tenant, id: event.id },
      makeAttempt(1, Date.now() - 400, { statusCode: 201 }),
      'succeeded',
      null,
    );
    return { tenant, event, id };
  }

  it('writes the record and event the ending commands left, without reading them back, exactly as read from Redis', async () => {
    const { recent, store, mover: m } = logging();
    const { tenant, event, id } = await endedOne(store);
    const inRedis = await live.get(id);
    const eventInRedis = await live.getEvent(tenant, event.id);
    expect(inRedis?.status).toBe('succeeded');

    const writer = createHistoryWriter({ store: pg, outbox, mover: m, intervalMs: 10 });
    while ((await writer.drainOnce()) > 0);
    expect(recent.stats()).toMatchObject({ hits: 1, misses: 0 });
    expect(await pg.getDelivery(id)).toEqual(inRedis);
    expect((await pg.getEvent(tenant, event.id))?.event).toEqual(eventInRedis);
    expect(await redis.exists(keys.delivery(id), keys.event(tenant, event.id))).toBe(0);
    expect(await outbox.length()).toBe(0);
  });

  it('writes an event once: with its own entry, not again with its delivery', async () => {
    const { store, mover: m } = logging();
    const { tenant, event, id } = await pendingOne(store);
    const written: { events: string[]; deliveries: string[] }[] = [];
    const spy = {
      write: async (b: Parameters<PgHistoryStore['write']>[0]) => {
        written.push({
          events: (b.events ?? []).map((e) => e.id),
          deliveries: (b.deliveries ?? []).map((d) => d.id),
        });
        return pg.write(b);
      },
    };
    const writer = createHistoryWriter({ store: spy, outbox, mover: m, intervalMs: 10 });
    while ((await writer.drainOnce()) > 0);
    await store.recordAttempt(
      id,
      { tenantId: tenant, id: event.id },
      makeAttempt(1, Date.now()),
      'succeeded',
      null,
    );
    while ((await writer.drainOnce()) > 0);
    expect(written.filter((w) => w.events.includes(event.id))).toHaveLength(1);
    expect(written.filter((w) => w.deliveries.includes(id))).toHaveLength(1);
    expect((await pg.getDelivery(id))?.status).toBe('succeeded');
    expect((await pg.getEvent(tenant, event.id))?.deliveries.map((d) => d.id)).toEqual([id]);
  });

  it('reads a record from Redis once it is not in memory (evicted, or ended by another process)', async () => {
    const a = logging();
    const { id } = await endedOne(a.store);
    const inRedis = await live.get(id);
    const other = createHistoryMover(redis, keys, live, createRecentHistory());
    const writer = createHistoryWriter({ store: pg, outbox, mover: other, intervalMs: 10 });
    while ((await writer.drainOnce()) > 0);
    expect(await pg.getDelivery(id)).toEqual(inRedis);
    expect(await redis.exists(keys.delivery(id))).toBe(0);
  });

  it('a record re-driven after it ended reaches PostgreSQL with its link (read back the second time)', async () => {
    const { recent, store, mover: m } = logging();
    const { id } = await endedOne(store);
    // Linked after its end, before the writer looked: the copy in memory has no link.
    expect(await MARK_REDRIVEN.run(redis, [keys.delivery(id)], ['dlv_next'])).toBe(1);
    const writer = createHistoryWriter({ store: pg, outbox, mover: m, intervalMs: 10 });
    while ((await writer.drainOnce()) > 0);
    expect(recent.stats()).toMatchObject({ hits: 1, misses: 1 });
    expect((await pg.getDelivery(id))?.redrivenTo).toBe('dlv_next');
    expect(await redis.exists(keys.delivery(id))).toBe(0);
    expect(await outbox.length()).toBe(0);
  });
});
