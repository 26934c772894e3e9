// Baselines, measured in the same run as Hookline on the same machine state: what BullMQ alone,
// a bare BullMQ + undici worker, and undici alone achieve at Hookline's concurrency.
import { Queue } from 'bullmq';
import { MAX_BATCH, received, sendWindowed } from '../lib/api.js';
import { now, sleep } from '../lib/clock.js';
import type { BenchContext } from '../lib/context.js';
import { newPrefix } from '../lib/context.js';
import { Child } from '../lib/ipc.js';
import type { RedisCounts } from '../lib/redis-counter.js';
import { machineCpuPerItem, machineCpuUs } from '../lib/machine-cpu.js';
import { deletePrefix, redisCpuUs } from '../lib/redis-tools.js';
import { rate } from '../lib/stats.js';
import type { WorkerSetup } from '../baseline-child.js';

export interface RateResult {
  count: number;
  /** All items over start → last. */
  perSecond: number;
  /** Items between the 10 % and 90 % arrivals (no ramp-up, no tail). */
  steadyPerSecond: number;
  durationMs: number;
  /** How fast the jobs were queued beforehand (addBulk), for queue baselines. */
  addPerSecond?: number;
  timedOut: boolean;
  errors?: number;
  /** perSecond of each run when measured more than once (the bare worker brackets B1). */
  runs?: number[];
  /** CPU time of the worker process per item (µs): stable even when other load steals cores. */
  cpuUsPerItem?: number;
  /**
   * CPU time of the Redis server per item (µs), adding the jobs included: Redis runs commands on
   * one thread, so this bounds the items/s of every worker process together.
   */
  redisCpuUsPerItem?: number;
  /**
   * CPU time of the whole machine per item (µs, bench/lib/machine-cpu.ts): every process the run
   * needed, adding the jobs (or publishing the events) included.
   */
  machineCpuUsPerItem?: number;
  /** The worker process's monotonic clock (µs) around the run, to cut its CPU profile. */
  window?: { fromUs: number; toUs: number };
  /** Redis commands of the worker process during the run (profiling runs only). */
  redis?: RedisCounts | null;
}

/** A payload the size of Hookline's native body for the same event. */
export function barePayload(i: number) {
  return {
    id: `evt_${String(i).padStart(16, '0')}`,
    type: 'message.delivered',
    timestamp: new Date().toISOString(),
    data: {
      messageId: `msg-${i}`,
      channel: 'sms',
      status: 'delivered',
      isFinal: true,
      sender: 'HOOKLINE',
      recipient: '9647700000000',
      t: Date.now(),
    },
  };
}

/** Jobs `from`…`from + n - 1` of a baseline queue, each removed once done. */
const jobs = (from: number, n: number, data: (i: number) => unknown) =>
  Array.from({ length: n }, (_, k) => ({
    name: 'job',
    data: data(from + k),
    opts: { removeOnComplete: true, removeOnFail: true },
  }));

async function fill(queue: Queue, total: number, data: (i: number) => unknown): Promise<number> {
  const started = now();
  for (let i = 0; i < total; i += 1000) {
    const n = Math.min(1000, total - i);
    await queue.addBulk(jobs(i, n, data));
  }
  return rate(total, started, now());
}

async function queueBaseline(
  ctx: BenchContext,
  mode: WorkerSetup['mode'],
  total: number,
  execArgv: string[] = [],
  endToEnd = false,
): Promise<RateResult> {
  const prefix = newPrefix('base');
  ctx.prefixes.add(prefix);
  const name = `bench-${mode}`;
  const queue = new Queue(name, { connection: ctx.redis, prefix });
  const child = Child.start('baseline-child.ts', { label: `baseline ${mode}`, execArgv });
  try {
    const setup: WorkerSetup = {
      mode,
      queue: name,
      prefix,
      concurrency: ctx.opts.concurrency,
      url: `${ctx.receiver.origin}/bare`,
      connections: ctx.opts.connections,
    };
    await child.call('setup', setup, 30_000);
    const redisCpu0 = await redisCpuUs(ctx.redis);
    const machineCpu0 = machineCpuUs();
    const addPerSecond = endToEnd
      ? undefined
      : await fill(queue, total, mode === 'bare' ? barePayload : (i) => ({ i }));
    const deadline = now() + ctx.opts.sizes.budgetMs.queue;
    await ctx.receiver.reset({ expect: total });
    const fromUs = await child.call<number>('monotonicUs');
    const cpu0 = await child.call<number>('cpuUs');
    await child.call('redisReset');
    const startedAt = await child.call<number>('run', { expect: total });
    // End to end: the jobs are added from here on, as publishStream feeds Hookline's batch API
    // (B1's batch, loops and window).
    if (endToEnd)
      await sendWindowed({
        total,
        batch: MAX_BATCH,
        inflight: 2,
        window: ctx.opts.sizes.window,
        progress: received(ctx.receiver),
        deadline,
        send: async (from, n) => {
          await queue.addBulk(jobs(from, n, barePayload));
        },
      });
    if (mode === 'noop') {
      for (;;) {
        const s = await child.call<{
          completed: number;
          p10At: number | null;
          p90At: number | null;
          doneAt: number | null;
          at: number;
        }>('stats');
        if (s.doneAt !== null || now() >= deadline) {
          const end = s.doneAt ?? s.at;
          return {
            cpuUsPerItem: ((await child.call<number>('cpuUs')) - cpu0) / Math.max(1, s.completed),
            window: { fromUs, toUs: await child.call<number>('monotonicUs') },
            count: s.completed,
            perSecond: rate(s.completed, startedAt, end),
            steadyPerSecond: rate(total * 0.8, s.p10At, s.p90At),
            durationMs: end - startedAt,
            addPerSecond,
            timedOut: s.doneAt === null,
          };
        }
        await sleep(20);
      }
    }
    const s = await ctx.receiver.waitFor(total, deadline);
    const end = s.doneAt ?? s.lastAt ?? now();
    return {
      redis: await child.call<RedisCounts | null>('redisCounts'),
      cpuUsPerItem: ((await child.call<number>('cpuUs')) - cpu0) / Math.max(1, s.count),
      redisCpuUsPerItem: ((await redisCpuUs(ctx.redis)) - redisCpu0) / Math.max(1, s.count),
      machineCpuUsPerItem: machineCpuPerItem(machineCpu0, s.count),
      window: { fromUs, toUs: await child.call<number>('monotonicUs') },
      count: s.count,
      perSecond: rate(s.count, startedAt, end),
      steadyPerSecond: rate(s.expect * 0.8, s.p10At, s.p90At),
      durationMs: end - startedAt,
      addPerSecond,
      timedOut: s.doneAt === null,
    };
  } finally {
    await child.stop();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await deletePrefix(ctx.redis, prefix);
    ctx.prefixes.delete(prefix);
  }
}

/** Several runs of one baseline as one result: means of the rates and costs. */
export function mergeRuns(rs: RateResult[]): RateResult {
  const mean = (f: (r: RateResult) => number | undefined) =>
    rs.reduce((a, r) => a + (f(r) ?? NaN), 0) / rs.length;
  return {
    count: rs.reduce((a, r) => a + r.count, 0),
    perSecond: mean((r) => r.perSecond),
    steadyPerSecond: mean((r) => r.steadyPerSecond),
    durationMs: rs.reduce((a, r) => a + r.durationMs, 0),
    addPerSecond: mean((r) => r.addPerSecond),
    cpuUsPerItem: mean((r) => r.cpuUsPerItem),
    redisCpuUsPerItem: mean((r) => r.redisCpuUsPerItem),
    machineCpuUsPerItem: mean((r) => r.machineCpuUsPerItem),
    timedOut: rs.some((r) => r.timedOut),
    runs: rs.map((r) => r.perSecond),
  };
}

export const noopBaseline = (ctx: BenchContext) => queueBaseline(ctx, 'noop', ctx.opts.sizes.noopJobs);
export const bareBaseline = (ctx: BenchContext, execArgv: string[] = []) =>
  queueBaseline(ctx, 'bare', ctx.opts.sizes.bareJobs, execArgv);
/** The bare worker end to end: its jobs are added while it runs, as B1 publishes while Hookline delivers. */
export const bareEndToEndBaseline = (ctx: BenchContext, execArgv: string[] = []) =>
  queueBaseline(ctx, 'bare', ctx.opts.sizes.bareJobs, execArgv, true);

export async function undiciBaseline(ctx: BenchContext): Promise<RateResult> {
  const total = ctx.opts.sizes.undiciRequests;
  const child = Child.start('baseline-child.ts', { label: 'baseline undici' });
  try {
    await ctx.receiver.reset({ expect: total });
    const r = await child.call<{ startedAt: number; doneAt: number; done: number; errors: number }>(
      'undici',
      {
        url: `${ctx.receiver.origin}/raw`,
        concurrency: ctx.opts.concurrency,
        connections: ctx.opts.connections,
        total,
        body: JSON.stringify(barePayload(0)),
        deadlineMs: ctx.opts.sizes.budgetMs.undici,
      },
      ctx.opts.sizes.budgetMs.undici + 30_000,
    );
    const s = await ctx.receiver.stats();
    return {
      count: r.done,
      perSecond: rate(r.done, r.startedAt, r.doneAt),
      steadyPerSecond: rate(s.expect * 0.8, s.p10At, s.p90At),
      durationMs: r.doneAt - r.startedAt,
      timedOut: r.done < total,
      errors: r.errors,
    };
  } finally {
    await child.stop();
  }
}
