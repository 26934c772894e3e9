// What every measured child answers over IPC besides its own commands: its CPU time, the clock
// its CPU profile is stamped with, and (profiling runs, BENCH_COUNT_REDIS=1) its Redis counts.
import { installRedisCounter } from './redis-counter.js';

export function childProbes() {
  const counter = process.env.BENCH_COUNT_REDIS === '1' ? installRedisCounter() : undefined;
  return {
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
