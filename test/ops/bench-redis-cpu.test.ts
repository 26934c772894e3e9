// The bench's Redis CPU per delivery (bench/README.md, B1): read from the real server's
// `INFO cpu`, in µs, and it must move with work Redis does (a script busy for 30 ms of wall time here).
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisCpuUs } from '../../bench/lib/redis-tools.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
afterAll(() => redis.quit());

describe('bench: Redis CPU time', () => {
  it('is read in µs and grows by the CPU a script spends', async () => {
    const before = await redisCpuUs(redis);
    expect(Number.isInteger(before)).toBe(true);
    expect(before).toBeGreaterThan(0);
    // Busy for 30 ms by Redis's clock (TIME, in µs), touching no key; on a loaded machine Redis
    // may get less than all of those 30 ms of CPU, so only a tenth is required.
    const spent = await redis.eval(
      `local t = redis.call('TIME'); local s = t[1] * 1e6 + t[2]; local n = 0
       repeat n = n + 1; t = redis.call('TIME') until t[1] * 1e6 + t[2] - s >= 30000
       return n`,
      0,
    );
    expect(Number(spent)).toBeGreaterThan(0);
    const after = await redisCpuUs(redis);
    expect(after - before).toBeGreaterThanOrEqual(3_000);
    expect(after - before).toBeLessThan(5_000_000);
  });
});
