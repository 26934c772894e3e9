// What every measured child answers over IPC besides its own commands: its CPU time, the clock
// its CPU profile is stamped with, and (profiling runs, BENCH_COUNT_REDIS=1) its Redis counts.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { installRedisCounter } from './redis-counter.js';

export function childProbes() {
  const counter = process.env.BENCH_COUNT_REDIS === '1' ? installRedisCounter() : undefined;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  return {
    /** Event-loop delay since the last reset (ms): how long ready work waited for the loop. */
    loopDelay: () => ({
      p50: loop.percentile(50) / 1e6,
      p99: loop.percentile(99) / 1e6,
      max: loop.max / 1e6,
    }),
    loopReset: () => loop.reset(),
    redisCounts: () => counter?.snapshot() ?? null,
    redisReset: () => counter?.reset() ?? null,
    /** The monotonic clock V8 stamps profile samples with (µs), to cut a profile to a window. */
    monotonicUs: () => Number(process.hrtime.bigint() / 1000n),
    /** CPU time this process has used (user + system, µs): per-delivery cost survives a busy machine. */
    cpuUs: () => {
      const u = process.cpuUsage();
      return u.user + u.system;
    },
  };
}
