// B4 (Redis bytes per queued delivery while the receiver is down) and B5 (worker RSS before and
// after a long run). Each gets its own Hookline, so nothing earlier skews its numbers.
import { Queue } from 'bullmq';
import { publishStream, received } from '../lib/api.js';
import { now, sleep } from '../lib/clock.js';
import { startHookline, subscribeTenants, type BenchContext } from '../lib/context.js';
import { deadPort } from '../lib/receiver.js';
import { keyspace, RECOMMENDED_REDIS_SETTINGS } from '../../src/redis/client.js';
import { prefixMemory, usedMemory, type PrefixMemory } from '../lib/redis-tools.js';
import { rate, round } from '../lib/stats.js';

export interface B4Result {
  /** Events published (one delivery each); below `requested` when the budget ran out. */
  backlog: number;
  requested: number;
  /** Delivery records found (should equal backlog). */
  deliveries: number;
  /** Deliveries still waiting or active when measured (0 once settled). */
  unsettled: number;
  delayed: number;
  /** MEMORY USAGE of the prefix's keys, after minus before, per delivery. */
  bytesPerDelivery: number;
  /** INFO used_memory after minus before, per delivery (the whole server: noisy when shared). */
  usedMemoryPerDelivery: number;
  /** The event's JSON as stored (bytes): the payload the target allows for. */
  eventJsonBytes: number;
  /** The job's whole `data` field (delivery, subscription and event ids). */
  jobDataBytes: number;
  /** Redis settings B4 ran under: the value for each, and the server's own before the run. */
  redisSettings: Record<string, { used: string; server: string }>;
  byClass: Record<string, { keys: number; bytesPerDelivery: number }>;
  settleMs: number;
  timedOut: boolean;
}

type Counts = Record<string, number>;

/** Applies the recommended settings (unless --redis-defaults) and returns how to put them back. */
async function applyRedisSettings(ctx: BenchContext) {
  const settings: B4Result['redisSettings'] = {};
  // The settings Hookline itself advises at start (src/redis.ts), as production runs them.
  for (const [name, { min }] of Object.entries(RECOMMENDED_REDIS_SETTINGS)) {
    const [, server] = (await ctx.redis.config('GET', name)) as [string, string];
    const used = ctx.opts.redisDefaults || Number(server) >= min ? server : String(min);
    if (used !== server) await ctx.redis.config('SET', name, used);
    settings[name] = { used, server };
  }
  const restore = async () => {
    ctx.restores.delete(restore);
    for (const [name, { used, server }] of Object.entries(settings))
      if (used !== server) await ctx.redis.config('SET', name, server);
  };
  ctx.restores.add(restore);
  return { settings, restore };
}

export async function b4Memory(ctx: BenchContext): Promise<B4Result> {
  const { settings, restore } = await applyRedisSettings(ctx);
  try {
    return await b4Run(ctx, settings);
  } finally {
    await restore();
  }
}

async function b4Run(ctx: BenchContext, redisSettings: B4Result['redisSettings']): Promise<B4Result> {
  const backlog = ctx.opts.sizes.b4Backlog;
  // Retries far away: failed deliveries stay queued (delayed) while we measure.
  const h = await startHookline(ctx, { RETRY_BASE_MS: '3600000' });
  const prefix = h.info.prefix;
  const events = new Queue('hookline-events', { connection: ctx.redis, prefix });
  const deliveries = new Queue('hookline-deliveries', { connection: ctx.redis, prefix });
  try {
    const down = `http://127.0.0.1:${await deadPort()}`;
    await subscribeTenants(h, down, ctx.opts.sizes.tenants, 'b4');
    const before: PrefixMemory = await prefixMemory(ctx.redis, prefix);
    const usedBefore = await usedMemory(ctx.redis);
    const budget = ctx.opts.sizes.budgetMs.b4;
    const started = now();
    const deadline = started + budget;
    // A delivery is settled once parked (delayed: attempted and failed, or held by the breaker).
    // Publishing stays at most a window ahead of that and stops at 60 % of the budget, so a slow
    // build measures a smaller backlog rather than an unsettled one.
    const pub = await publishStream(h.api, {
      total: backlog,
      tenants: ctx.opts.sizes.tenants,
      window: 5_000,
      progress: async () => (await deliveries.getJobCounts('delayed')).delayed!,
      deadline: started + budget * 0.6,
    });
    // Settled: every event fanned out, every delivery attempted once and parked (delayed),
    // seen twice in a row.
    let ev: Counts = {};
    let dl: Counts = {};
    let quiet = 0;
    for (;;) {
      [ev, dl] = await Promise.all([
        events.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
        deliveries.getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
      ]);
      const pending = Object.values(ev).reduce((a, b) => a + b, 0);
      const unsettled = dl.waiting! + dl.active! + dl.prioritized!;
      quiet = pending === 0 && unsettled === 0 ? quiet + 1 : 0;
      if (quiet >= 2 || now() >= deadline) break;
      await sleep(250);
    }
    const settleMs = now() - started;
    const after = await prefixMemory(ctx.redis, prefix);
    const usedAfter = await usedMemory(ctx.redis);
    const records = after.byClass['delivery record (hash)']?.keys ?? 0;
    const per = (bytes: number) => round(bytes / Math.max(1, records), 0);
    const byClass: B4Result['byClass'] = {};
    for (const [cls, a] of Object.entries(after.byClass)) {
      const b = before.byClass[cls] ?? { keys: 0, bytes: 0 };
      byClass[cls] = { keys: a.keys - b.keys, bytesPerDelivery: per(a.bytes - b.bytes) };
    }
    const [jobId] = await ctx.redis.zrange(`${prefix}:hookline-deliveries:delayed`, '0', '0');
    const data = jobId ? await ctx.redis.hget(`${prefix}:hookline-deliveries:${jobId}`, 'data') : null;
    const { e, t } = data ? (JSON.parse(data) as { e?: unknown; t?: string }) : {};
    // Jobs name their event (tenant and id); its JSON is stored once, in field `e` of its hash.
    const eventJson =
      typeof e === 'string' && t
        ? await ctx.redis.hget(keyspace(prefix).event(t, e), 'e')
        : e
          ? JSON.stringify(e)
          : null;
    return {
      backlog: pub.accepted,
      requested: backlog,
      deliveries: records,
      unsettled: dl.waiting! + dl.active! + dl.prioritized!,
      delayed: dl.delayed!,
      bytesPerDelivery: per(after.bytes - before.bytes),
      usedMemoryPerDelivery: per(usedAfter - usedBefore),
      eventJsonBytes: eventJson ? Buffer.byteLength(eventJson) : NaN,
      jobDataBytes: data ? Buffer.byteLength(data) : NaN,
      redisSettings,
      byClass,
      settleMs,
      timedOut: quiet < 2,
    };
  } finally {
    await events.close();
    await deliveries.close();
    await h.stop();
  }
}

export interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  gcExposed: boolean;
}

export interface B5Result {
  warmup: number;
  deliveries: number;
  received: number;
  /** After the warm-up and after the run, each after a full GC. */
  before: Mem;
  after: Mem;
  /** Highest RSS sampled during the run (no GC forced). */
  peakRss: number;
  rssGrowthPct: number;
  heapGrowthPct: number;
  perSecond: number;
  timedOut: boolean;
}

export async function b5Stability(ctx: BenchContext): Promise<B5Result> {
  const { b5Warmup, b5Deliveries, tenants, window } = ctx.opts.sizes;
  const h = await startHookline(ctx, {}, ['--expose-gc']);
  try {
    await subscribeTenants(h, ctx.receiver.origin, tenants, 'b5');
    const budget = ctx.opts.sizes.budgetMs.b5;
    const warmDeadline = now() + budget / 4;
    await ctx.receiver.reset({ expect: b5Warmup });
    const progress = received(ctx.receiver);
    await publishStream(h.api, { total: b5Warmup, tenants, window, progress, deadline: warmDeadline });
    const warmed = (await ctx.receiver.waitFor(b5Warmup, warmDeadline)).count;
    await sleep(500); // let the last jobs complete and their records land
    const mem = (gc: boolean) => h.child.call<Mem>('mem', { gc });
    // RSS right after a collection still holds pages the allocator returns lazily, and how many
    // varies from run to run: the lowest of four samples 0.5 s apart, each after a full GC.
    const settled = async () => {
      let best = await mem(true);
      for (let i = 0; i < 3; i++) {
        await sleep(500);
        const m = await mem(true);
        if (m.rss < best.rss) best = m;
      }
      return best;
    };
    const before = await settled();

    await ctx.receiver.reset({ expect: b5Deliveries });
    const deadline = now() + budget;
    let peakRss = before.rss;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakRss = Math.max(peakRss, (await mem(false)).rss);
        await sleep(1000);
      }
    })();
    const pub = await publishStream(h.api, { total: b5Deliveries, tenants, window, progress, deadline });
    const s = await ctx.receiver.waitFor(b5Deliveries, deadline);
    sampling = false;
    await sampler;
    await sleep(500);
    const after = await settled();
    const pct = (a: number, b: number) => round(((a - b) / b) * 100, 1);
    return {
      warmup: warmed,
      deliveries: b5Deliveries,
      received: s.count,
      before,
      after,
      peakRss,
      rssGrowthPct: pct(after.rss, before.rss),
      heapGrowthPct: pct(after.heapUsed, before.heapUsed),
      perSecond: rate(s.count, pub.startedAt, s.doneAt ?? s.lastAt),
      timedOut: s.doneAt === null,
    };
  } finally {
    await h.stop();
  }
}
