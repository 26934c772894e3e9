// B1 throughput, B2 latency and B3 fan-out, against one running Hookline (API + workers in one
// child process, as `npm start` runs it), through its HTTP API.
import { now, sleep } from '../lib/clock.js';
import { publishAtRate, publishStream, received } from '../lib/api.js';
import type { BenchContext, HooklineUnderTest } from '../lib/context.js';
import { machineCpuPerItem, machineCpuUs } from '../lib/machine-cpu.js';
import { redisCpuUs } from '../lib/redis-tools.js';
import { median, percentile, rate } from '../lib/stats.js';
import type { RateResult } from './baselines.js';

export interface B1Result extends RateResult {
  events: number;
  /** Events accepted per second by the batch endpoint while deliveries ran. */
  publishPerSecond: number;
  /** Mean webhook body size as received (bytes). */
  bodyBytes: number;
  /** When the first, the 10th-percentile and the 90th-percentile deliveries arrived (ms after the first publish). */
  arrivalsMs: { first: number; p10: number; p90: number };
}

export async function b1Throughput(ctx: BenchContext, h: HooklineUnderTest): Promise<B1Result> {
  const total = ctx.opts.sizes.b1Events;
  const deadline = now() + ctx.opts.sizes.budgetMs.b1;
  await ctx.receiver.reset({ expect: total });
  const cpu0 = await h.child.call<number>('cpuUs');
  const redisCpu0 = await redisCpuUs(ctx.redis);
  const machineCpu0 = machineCpuUs();
  const pub = await publishStream(h.api, {
    progress: received(ctx.receiver),
    total,
    tenants: ctx.opts.sizes.tenants,
    window: ctx.opts.sizes.window,
    deadline,
  });
  const s = await ctx.receiver.waitFor(total, deadline);
  const end = s.doneAt ?? s.lastAt ?? now();
  const cpuUs = (await h.child.call<number>('cpuUs')) - cpu0;
  const redisCpu = (await redisCpuUs(ctx.redis)) - redisCpu0;
  return {
    cpuUsPerItem: cpuUs / Math.max(1, s.count),
    redisCpuUsPerItem: redisCpu / Math.max(1, s.count),
    machineCpuUsPerItem: machineCpuPerItem(machineCpu0, s.count),
    events: pub.accepted,
    count: s.count,
    perSecond: rate(s.count, pub.startedAt, end),
    steadyPerSecond: rate(s.expect * 0.8, s.p10At, s.p90At),
    durationMs: end - pub.startedAt,
    publishPerSecond: rate(pub.accepted, pub.startedAt, pub.publishedAt),
    bodyBytes: s.count > 0 ? Math.round(s.bodyBytes / s.count) : NaN,
    arrivalsMs: {
      first: (s.firstAt ?? NaN) - pub.startedAt,
      p10: (s.p10At ?? NaN) - pub.startedAt,
      p90: (s.p90At ?? NaN) - pub.startedAt,
    },
    timedOut: s.doneAt === null,
  };
}

export interface B2Result {
  rate: number;
  durationMs: number;
  sent: number;
  received: number;
  /** Accepted → received (the measure): percentiles in ms. */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Publish-request start → received (includes the API's own time). */
  fromPublish: { p50: number; p95: number; p99: number; max: number };
  /** Publisher ticks more than one tick late (the load generator fell behind). */
  lateTicks: number;
  timedOut: boolean;
}

/** Latency from publish-request start to arrival at the receiver, at a fixed event rate. */
export async function b2Latency(ctx: BenchContext, h: HooklineUnderTest): Promise<B2Result> {
  const { b2Rate, b2Ms, tenants } = ctx.opts.sizes;
  // One second at the same rate first: connections, caches and JIT warm, not measured.
  await ctx.receiver.reset({ mode: 'count' });
  const warm = await publishAtRate(h.api, { rate: b2Rate, durationMs: 1000, tickMs: 10, tenants });
  await ctx.receiver.waitFor(warm.accepted, now() + 10_000);
  await ctx.receiver.reset({ mode: 'latency' });
  const r = await publishAtRate(h.api, { rate: b2Rate, durationMs: b2Ms, tickMs: 10, tenants });
  const s = await ctx.receiver.waitFor(r.accepted, now() + 15_000);
  const lats = await ctx.receiver.latencies();
  const lat = lats.fromAccepted.sort((a, b) => a - b);
  const pub = lats.fromPublish.sort((a, b) => a - b);
  return {
    rate: b2Rate,
    durationMs: b2Ms,
    sent: r.sent,
    received: s.count,
    p50: percentile(lat, 50),
    p95: percentile(lat, 95),
    p99: percentile(lat, 99),
    max: lat.at(-1) ?? NaN,
    fromPublish: {
      p50: percentile(pub, 50),
      p95: percentile(pub, 95),
      p99: percentile(pub, 99),
      max: pub.at(-1) ?? NaN,
    },
    lateTicks: r.lateTicks,
    timedOut: s.count < r.accepted,
  };
}

export interface B3Result {
  subscriptions: number;
  /** Time to create the subscriptions over the API (informational). */
  createMs: number;
  /** Publish-request start → last of the fan-out's deliveries received, per repetition (ms). */
  runsMs: number[];
  /** The first run loads the tenant's 1,000 subscriptions into the cache. */
  coldMs: number;
  warmMedianMs: number;
  timedOut: boolean;
}

export async function b3Fanout(ctx: BenchContext, h: HooklineUnderTest): Promise<B3Result> {
  const n = ctx.opts.sizes.b3Subscriptions;
  const tenantId = 'bench-fanout';
  const created = now();
  await h.api.createSubscriptions(
    Array.from({ length: n }, (_, i) => ({ tenantId, url: `${ctx.receiver.origin}/b3/${i}` })),
  );
  const createMs = now() - created;
  const runsMs: number[] = [];
  let timedOut = false;
  for (let rep = 0; rep < ctx.opts.sizes.b3Reps; rep++) {
    await sleep(200); // let the previous run's responses settle
    await ctx.receiver.reset({ mode: 'distinct', expect: n });
    const t0 = now();
    await h.api.publishBatch([
      {
        tenantId,
        type: 'message.delivered',
        channel: 'sms',
        messageId: `fanout-${rep}`,
        sender: 'HOOKLINE',
        recipient: '9647700000000',
        data: { t: t0 },
      },
    ]);
    const s = await ctx.receiver.waitFor(n, now() + 15_000, 'distinct');
    if (s.distinct < n) timedOut = true;
    runsMs.push((s.doneAt ?? s.lastAt ?? now()) - t0);
  }
  const warm = runsMs.slice(1);
  return {
    subscriptions: n,
    createMs,
    runsMs,
    coldMs: runsMs[0] ?? NaN,
    warmMedianMs: warm.length > 0 ? median(warm) : (runsMs[0] ?? NaN),
    timedOut,
  };
}
