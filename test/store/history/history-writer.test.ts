// The way into the PostgreSQL history, against real Redis and a real server reached through a
// relay the tests cut: batches from the Redis outbox, one write each; an outage leaves the records
// in Redis (bounded), shown by a metric and a log line, until every one lands; a writer that dies
// holding entries has them taken over; a record PostgreSQL refuses is set aside, not retried forever.
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { testConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { createHistoryWriter, type HistoryWriter } from '../../../src/store/history/history-writer.js';
import type { HistoryStore } from '../../../src/store/history/history-store.js';
import {
  createHistoryOutbox,
  type HistoryOutbox,
  type OutboxItem,
} from '../../../src/store/history/outbox.js';
import { createHistoryPool } from '../../../src/store/history/pg-history.js';
import { createPgHistoryStore } from '../../../src/store/history/pg-history-store.js';
import { deleteKeys } from '../../helpers/harness.js';
import { migratedSchema, startPgRelay, type PgRelay, type TestSchema } from '../../helpers/pg.js';
import { makeDelivery, makeEvent, tag } from './fixtures.js';

const config = testConfig();
let redis: Redis;
let db: TestSchema;
let relay: PgRelay;
let relayed: ReturnType<typeof createHistoryPool>;
let store: HistoryStore;
const writers: HistoryWriter[] = [];

beforeAll(async () => {
  redis = new Redis(config.REDIS_URL);
  db = await migratedSchema();
  relay = await startPgRelay();
  relayed = createHistoryPool({ ...db.options, databaseUrl: relay.url, connectTimeoutMs: 1_000 });
  store = createPgHistoryStore(relayed, { retentionDays: 7 });
});
afterEach(async () => {
  for (const w of writers.splice(0)) await w.stop();
  await relay.restore();
});
afterAll(async () => {
  await relayed?.end();
  await relay?.close();
  await db?.drop();
  redis?.disconnect();
  await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
});

const outboxFor = (maxEntries = 100_000) =>
  createHistoryOutbox(redis, `${config.REDIS_PREFIX}:history:${tag()}`, { maxEntries });

/** `n` delivered events of a new tenant, as outbox items (an event, then its delivery). */
function records(n: number) {
  const tenant = `t-${tag()}`;
  const items: OutboxItem[] = [];
  for (let i = 0; i < n; i++) {
    const event = makeEvent(tenant, Date.now() - 60_000 + i);
    items.push({ event }, { delivery: makeDelivery(event, `sub_${i % 3}`) });
  }
  return { tenant, items };
}

const countFor = async (tenant: string, table: 'events' | 'deliveries') =>
  (
    await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table} WHERE tenant_key = (SELECT key FROM names WHERE kind = 't' AND name = $1)`,
      [tenant],
    )
  ).rows[0]!.n;

function writer(outbox: HistoryOutbox, opts: Partial<Parameters<typeof createHistoryWriter>[0]> = {}) {
  const w = createHistoryWriter({ store, outbox, intervalMs: 20, maxBackoffMs: 100, ...opts });
  writers.push(w);
  return w;
}

/** A logger whose lines the test reads. */
function capturedLogger() {
  const lines: { level: number; msg: string; backlog?: number }[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: createLogger('info', {}, stream), lines };
}

describe('history writer', () => {
  it('moves the outbox into PostgreSQL a batch at a time, one write per batch', async () => {
    const outbox = outboxFor();
    const { tenant, items } = records(600);
    expect(await outbox.push(items)).toBe(true);
    const write = vi.spyOn(store, 'write');
    const w = writer(outbox, { batchSize: 500 });
    const moved: number[] = [];
    for (let n = await w.drainOnce(); n > 0; n = await w.drainOnce()) moved.push(n);
    expect(moved).toEqual([500, 500, 200]);
    expect(write).toHaveBeenCalledTimes(3);
    write.mockRestore();
    expect(await countFor(tenant, 'events')).toBe(600);
    expect(await countFor(tenant, 'deliveries')).toBe(600);
    expect(await outbox.length()).toBe(0);
  });

  it('hands each written batch to onWritten before its entries leave the outbox', async () => {
    const outbox = outboxFor();
    const { items } = records(5);
    await outbox.push(items);
    const seen: number[] = [];
    let fail = true;
    const w = writer(outbox, {
      onWritten: async (batch) => {
        seen.push(batch.deliveries!.length);
        if (fail) throw new Error('redis hiccup');
      },
    });
    await expect(w.drainOnce()).rejects.toThrow('redis hiccup');
    expect(await outbox.length()).toBe(10);
    fail = false;
    expect(await w.drainOnce()).toBe(10);
    expect(seen).toEqual([5, 5]);
    expect(await outbox.length()).toBe(0);
  });

  it('refuses a push that would overfill the buffer, whole', async () => {
    const outbox = outboxFor(10);
    expect(await outbox.push(records(4).items)).toBe(true);
    expect(await outbox.push(records(2).items)).toBe(false);
    expect(await outbox.length()).toBe(8);
    const pipe = redis.multi();
    outbox.pushIn(pipe, records(1).items);
    expect((await pipe.exec())![0]).toEqual([null, 10]);
  });

  it('keeps records in Redis while PostgreSQL is unreachable, shows the backlog, and writes them all when it is back', async () => {
    const outbox = outboxFor();
    const registry = new Registry();
    const { logger, lines } = capturedLogger();
    const w = writer(outbox, { registry, logger, logEveryMs: 100 });
    const backlogMetric = async () =>
      (await registry.getSingleMetric('hookline_history_backlog')!.get()).values[0]?.value;

    await relay.cut();
    w.start();
    const first = records(150);
    const second = records(150);
    await outbox.push(first.items);
    await vi.waitFor(() => expect(w.failing()).toBe(true), { timeout: 10_000, interval: 20 });
    await outbox.push(second.items);
    await vi.waitFor(async () => expect(await backlogMetric()).toBe(600), { timeout: 10_000, interval: 20 });
    await vi.waitFor(
      () =>
        expect(
          lines.some((l) => l.level === 40 && l.backlog === 600 && /records wait in Redis/.test(l.msg)),
        ).toBe(true),
      { timeout: 10_000, interval: 20 },
    );
    expect(await outbox.length()).toBe(600);

    await relay.restore();
    await vi.waitFor(async () => expect(await outbox.length()).toBe(0), { timeout: 20_000, interval: 50 });
    for (const { tenant } of [first, second]) {
      expect(await countFor(tenant, 'events')).toBe(150);
      expect(await countFor(tenant, 'deliveries')).toBe(150);
    }
    await vi.waitFor(async () => expect(await backlogMetric()).toBe(0), { timeout: 5_000, interval: 20 });
    expect(w.failing()).toBe(false);
    expect(lines.some((l) => l.level === 30 && /writes resumed/.test(l.msg))).toBe(true);
  });

  it('takes over the entries of a writer that died before writing them', async () => {
    const outbox = outboxFor();
    const { tenant, items } = records(40);
    await outbox.push(items);
    // A writer reads its batch and is killed: the entries stay pending in its name.
    expect(await outbox.read('dead-writer', 500)).toHaveLength(80);
    const w = writer(outbox, { claimIdleMs: 300 });
    expect(await w.drainOnce()).toBe(0); // too early: the entries may still be on their way
    await vi.waitFor(async () => expect(await w.drainOnce()).toBe(80), { timeout: 5_000, interval: 50 });
    expect(await countFor(tenant, 'deliveries')).toBe(40);
    expect(await outbox.length()).toBe(0);
  });

  it('sets aside the records PostgreSQL refuses, with the reason, and writes the others', async () => {
    const outbox = outboxFor();
    const registry = new Registry();
    const { tenant, items } = records(30);
    const bad = items[21] as { delivery: { status: string } };
    bad.delivery.status = 'exploded'; // no status code: the row's NOT NULL status refuses it
    await outbox.push(items);
    await redis.xadd(outbox.key, '*', 'x', 'not json');
    const w = writer(outbox, { registry, logger: capturedLogger().logger });
    while ((await w.drainOnce()) > 0);
    expect(await countFor(tenant, 'events')).toBe(30);
    expect(await countFor(tenant, 'deliveries')).toBe(29);
    expect(await outbox.length()).toBe(0);
    const dead = (await redis.xrange(outbox.deadKey, '-', '+')).map(([, f]) => f);
    expect(dead).toHaveLength(2);
    expect(dead[0]!.slice(0, 2)).toEqual(['x', 'not json']);
    expect(JSON.parse(dead[1]![1]!).status).toBe('exploded');
    expect(dead[1]![3]).toMatch(/null value in column "status"/);
    expect(
      (await registry.getSingleMetric('hookline_history_dead_letters_total')!.get()).values[0]?.value,
    ).toBe(2);
  });
});
