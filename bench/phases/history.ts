// B1pg (B1 with the PostgreSQL history) and B7 (what a delivered event leaves behind: Redis bytes
// with each history store, PostgreSQL bytes, and B7q, the messageId query at a million rows).
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { publishStream, received } from '../lib/api.js';
import { now, sleep } from '../lib/clock.js';
import {
  startHookline,
  subscribeTenants,
  type BenchContext,
  type HooklineUnderTest,
} from '../lib/context.js';
import { generateHistory } from '../lib/history-data.js';
import { historySizes, sizeDelta, withBenchSchema, type BenchSchema } from '../lib/pg-tools.js';
import { startPrivateRedis, type PrivateRedis } from '../lib/private-redis.js';
import { deletePrefix, prefixMemory, usedMemory, type KeyExample } from '../lib/redis-tools.js';
import { percentile, round } from '../lib/stats.js';
import { b1Throughput, type B1Result } from './hookline.js';

const count = async (pool: Pool, table: 'events' | 'deliveries') =>
  Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);

/** Waits until the outbox is empty and PostgreSQL holds `rows` deliveries; false at the deadline. */
async function drained(redis: Redis, prefix: string, pool: Pool, rows: number, deadline: number) {
  for (;;) {
    if ((await redis.xlen(`${prefix}:history`)) === 0 && (await count(pool, 'deliveries')) >= rows)
      return true;
    if (now() >= deadline) return false;
    await sleep(100);
  }
}

export interface B1PgResult extends B1Result {
  /** Last delivery → outbox empty and every delivery row in PostgreSQL (ms). */
  drainMs: number;
  /** Delivery rows in PostgreSQL at the end. */
  moved: number;
  /** CPU µs per delivery of the Hookline process up to the drain (the move included). */
  cpuUsPerItemMoved: number;
}

/** B1 against a Hookline with DATABASE_URL: deliveries/s as B1, then the wait for the move. */
export async function b1PgThroughput(
  ctx: BenchContext,
  h: HooklineUnderTest,
  pg: BenchSchema,
): Promise<B1PgResult> {
  const r = await b1Throughput(ctx, h);
  const t0 = now();
  const cpu0 = await h.child.call<number>('cpuUs');
  const ok = await drained(ctx.redis, h.info.prefix, pg.pool, r.count, t0 + 60_000);
  const drainMs = now() - t0;
  const cpu = (await h.child.call<number>('cpuUs')) - cpu0;
  return {
    ...r,
    drainMs: ok ? drainMs : NaN,
    moved: await count(pg.pool, 'deliveries'),
    cpuUsPerItemMoved: ((r.cpuUsPerItem ?? NaN) * r.count + cpu) / Math.max(1, r.count),
  };
}

/** The trial event: an SMS delivery report with a message id, 129 bytes of JSON as published. */
export const b7Event = (i: number) => ({
  tenantId: 'bench-t0',
  type: 'message.delivered',
  channel: 'sms',
  messageId: `sms-${String(i).padStart(16, '0')}`,
  recipient: '9647700000000',
});
export const B7_EVENT_BYTES = Buffer.byteLength(JSON.stringify(b7Event(0)));

export interface B7Store {
  store: 'redis' | 'postgresql';
  warmup: number;
  /** Events delivered in the measured part (one delivery each). */
  events: number;
  /** INFO used_memory after − before, per event (a private server: nothing else moves it). */
  usedMemoryPerEvent: number;
  /** Σ MEMORY USAGE over the prefix's keys, after − before, per event (no dict/expiry entries). */
  keyBytesPerEvent: number;
  byClass: Record<string, { keys: number; bytesPerEvent: number; bytesPerKey: number }>;
  /** One key of each class after the run. */
  examples: Record<string, KeyExample>;
  /** Keys of ended records still in Redis after the run (PostgreSQL store: should be 0). */
  leftover: { deliveryRecords: number; events: number; outboxEntries: number };
  pg?: {
    /** Partitions of events and deliveries, indexes included, after − before, per event. */
    bytesPerEvent: number;
    parts: { name: string; kind: string; bytesPerEvent: number }[];
    rows: { events: number; deliveries: number };
  };
  settleMs: number;
  timedOut: boolean;
}

export interface B7Query {
  rows: number;
  seeded: number;
  seedMs: number;
  queries: number;
  p50: number;
  p99: number;
  max: number;
}

export interface B7Result {
  eventBytes: number;
  redisVersion: string;
  redisSettings: Record<string, string>;
  stores: B7Store[];
  query?: B7Query;
}

export async function b7Memory(ctx: BenchContext): Promise<B7Result> {
  let server: PrivateRedis;
  try {
    server = await startPrivateRedis(ctx);
  } catch (err) {
    throw new Error(`B7 measures on a private redis-server (PATH or BENCH_REDIS_SERVER): ${String(err)}`, {
      cause: err,
    });
  }
  try {
    const stores: B7Store[] = [await b7Store(ctx, server)];
    let query: B7Query | undefined;
    stores.push(
      await withBenchSchema(ctx, async (pg) => {
        const { result, q } = await b7Store(ctx, server, pg);
        query = q;
        return result;
      }),
    );
    return {
      eventBytes: B7_EVENT_BYTES,
      redisVersion: server.version,
      redisSettings: server.settings,
      stores,
      query,
    };
  } finally {
    await server.stop();
  }
}

async function b7Store(ctx: BenchContext, server: PrivateRedis): Promise<B7Store>;
async function b7Store(
  ctx: BenchContext,
  server: PrivateRedis,
  pg: BenchSchema,
): Promise<{ result: B7Store; q: B7Query }>;
async function b7Store(ctx: BenchContext, server: PrivateRedis, pg?: BenchSchema) {
  const { b7Events, b7Warmup, budgetMs, window } = ctx.opts.sizes;
  const store = pg ? 'postgresql' : 'redis';
  ctx.log(`B7 ${store}: ${b7Warmup} events of warm-up, then ${b7Events}`);
  const h = await startHookline(ctx, { REDIS_URL: server.url, ...pg?.env });
  const prefix = h.info.prefix;
  const queues = ['hookline-events', 'hookline-deliveries'].map(
    (name) => new Queue(name, { connection: server.redis, prefix }),
  );
  try {
    const started = now();
    const deadline = started + budgetMs.b7;
    await pg?.ready(deadline);
    await subscribeTenants(h, ctx.receiver.origin, 1, `b7${store}`);

    const deliver = async (from: number, total: number) => {
      await ctx.receiver.reset({ expect: total });
      await publishStream(h.api, {
        total,
        tenants: 1,
        window,
        progress: received(ctx.receiver),
        deadline,
        event: (i) => b7Event(from + i),
      });
      return (await ctx.receiver.waitFor(total, deadline)).count;
    };
    /** Nothing queued or running, outbox moved, no key appearing or going: seen twice, 300 ms apart. */
    const settle = async (rows: number) => {
      let quiet = 0;
      let lastKeys = -1;
      for (;;) {
        const counts = await Promise.all(
          queues.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized')),
        );
        const busy = counts.some((c) => Object.values(c).some((n) => n > 0));
        const moving =
          !!pg &&
          ((await server.redis.xlen(`${prefix}:history`)) > 0 || (await count(pg.pool, 'deliveries')) < rows);
        const keys = await server.redis.dbsize();
        quiet = !busy && !moving && keys === lastKeys ? quiet + 1 : 0;
        lastKeys = keys;
        if (quiet >= 2) return true;
        if (now() >= deadline) return false;
        await sleep(300);
      }
    };

    const warm = await deliver(0, b7Warmup);
    await settle(warm);
    const usedBefore = await usedMemory(server.redis);
    const before = await prefixMemory(server.redis, prefix);
    const pgBefore = pg ? await historySizes(pg.pool) : [];

    const events = await deliver(b7Warmup, b7Events);
    const settled = await settle(warm + events);
    const settleMs = now() - started;
    const usedAfter = await usedMemory(server.redis);
    const after = await prefixMemory(server.redis, prefix, true);
    const per = (bytes: number) => round(bytes / Math.max(1, events), 1);
    const byClass: B7Store['byClass'] = {};
    for (const [cls, a] of Object.entries(after.byClass)) {
      const b = before.byClass[cls] ?? { keys: 0, bytes: 0 };
      byClass[cls] = {
        keys: a.keys - b.keys,
        bytesPerEvent: per(a.bytes - b.bytes),
        bytesPerKey: round(a.bytes / Math.max(1, a.keys), 0),
      };
    }
    const result: B7Store = {
      store,
      warmup: warm,
      events,
      usedMemoryPerEvent: per(usedAfter - usedBefore),
      keyBytesPerEvent: per(after.bytes - before.bytes),
      byClass,
      examples: after.examples ?? {},
      leftover: {
        deliveryRecords: after.byClass['delivery record (hash)']?.keys ?? 0,
        events: after.byClass['event (JSON and its delivery ids, hash)']?.keys ?? 0,
        outboxEntries: await server.redis.xlen(`${prefix}:history`),
      },
      settleMs,
      timedOut: !settled || events < b7Events,
    };
    if (!pg) return result;
    const parts = sizeDelta(pgBefore, await historySizes(pg.pool));
    result.pg = {
      bytesPerEvent: per(parts.reduce((n, p) => n + p.bytes, 0)),
      parts: parts
        .sort((a, b) => b.bytes - a.bytes)
        .map((p) => ({ name: p.name, kind: p.kind, bytesPerEvent: per(p.bytes) })),
      rows: { events: await count(pg.pool, 'events'), deliveries: await count(pg.pool, 'deliveries') },
    };
    return { result, q: await b7Query(ctx, h, pg) };
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    await h.stop();
    await deletePrefix(server.redis, prefix);
  }
}

/**
 * B7q: `GET /v1/deliveries?messageId=` over HTTP, one call at a time, with b7Rows delivery rows in
 * the table: rows generated in SQL (bench/lib/history-data.ts) for tenants b7q-t0…9, each of
 * which also gets a subscription in Redis, so the API's live half runs as in production.
 */
async function b7Query(ctx: BenchContext, h: HooklineUnderTest, pg: BenchSchema): Promise<B7Query> {
  const { b7Rows, b7Queries } = ctx.opts.sizes;
  const tenants = 10;
  const seeded = Math.max(tenants, b7Rows - (await count(pg.pool, 'deliveries')));
  ctx.log(`B7q: generating ${seeded} events and deliveries in SQL`);
  const t0 = now();
  await generateHistory(pg.pool, {
    events: seeded,
    tenants,
    subscriptionsPerTenant: 3,
    days: 6.9,
    prefix: 'b7q',
  });
  const seedMs = now() - t0;
  await h.api.createSubscriptions(
    Array.from({ length: tenants }, (_, i) => ({
      tenantId: `b7q-t${i}`,
      url: `${ctx.receiver.origin}/b7q/${i}`,
    })),
  );
  // generateHistory: event i belongs to tenant i % tenants and carries message id msg-i.
  const query = (i: number) =>
    h.api.get<{ data: unknown[] }>(`/v1/deliveries?tenantId=b7q-t${i % tenants}&messageId=msg-${i}&limit=50`);
  const found = await query(seeded - 1);
  if (found.data.length !== 1)
    throw new Error(`B7q: messageId query found ${found.data.length} deliveries, not 1`);
  for (let k = 0; k < 200; k++) await query(Math.floor(Math.random() * seeded)); // every connection plans once
  const ms: number[] = [];
  for (let k = 0; k < b7Queries; k++) {
    const i = (k * 7919 + 13) % seeded;
    const t = performance.now();
    await query(i);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return {
    rows: await count(pg.pool, 'deliveries'),
    seeded,
    seedMs,
    queries: b7Queries,
    p50: round(percentile(ms, 50), 2),
    p99: round(percentile(ms, 99), 2),
    max: round(ms.at(-1)!, 2),
  };
}
