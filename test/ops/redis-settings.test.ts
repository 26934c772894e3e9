// Hookline warns at start when Redis runs with a setting docs/operations.md advises against.
// The test flips hash-max-listpack-value on the shared server and puts the server's own value
// back: the setting only changes how Redis encodes small hashes, never what they hold.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { redisSettingWarnings } from '../../src/redis/client.js';

describe('Redis setting warnings', () => {
  let redis: Redis;
  let original: string;

  beforeAll(async () => {
    redis = new Redis(testConfig().REDIS_URL);
    original = ((await redis.config('GET', 'hash-max-listpack-value')) as string[])[1]!;
  });

  afterAll(async () => {
    await redis.config('SET', 'hash-max-listpack-value', original);
    redis.disconnect();
  });

  it('names hash-max-listpack-value when it is below 1024, and says nothing at 1024', async () => {
    await redis.config('SET', 'hash-max-listpack-value', '64');
    const low = await redisSettingWarnings(redis);
    expect(low).toHaveLength(1);
    expect(low[0]).toMatch(/hash-max-listpack-value is 64; 1024 is recommended/);
    expect(low[0]).toContain('docs/operations.md');

    await redis.config('SET', 'hash-max-listpack-value', '1024');
    expect(await redisSettingWarnings(redis)).toEqual([]);
  });

  it('gives no warnings (and does not throw) when CONFIG cannot be read', async () => {
    const closed = new Redis(testConfig().REDIS_URL, { lazyConnect: true, enableOfflineQueue: false });
    // Never connected, no offline queue: every command is refused, as a managed Redis refuses CONFIG.
    expect(await redisSettingWarnings(closed)).toEqual([]);
    closed.disconnect();
  });
});
