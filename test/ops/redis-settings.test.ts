// Hookline warns at start when Redis runs with a setting docs/operations.md advises against.
// The test flips hash-max-listpack-value on the shared server and puts the server's own value
// back: the setting only changes how Redis encodes small hashes, never what they hold.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { redisSettingWarnings } from '../../src/redis/client.js';
import { startServer, stopAll, type Server } from '../redis/topology/servers.js';

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

describe('Redis setting warnings on a private server', () => {
  let server: Server;
  let redis: Redis;

  beforeAll(async () => {
    // The shared server's zset encoding is left alone: other files check their indexes are listpacks.
    server = await startServer(['zset-max-listpack-entries 64', 'hash-max-listpack-value 1024']);
    redis = new Redis({ host: '127.0.0.1', port: server.port });
  });

  afterAll(async () => {
    redis.disconnect();
    await stopAll();
  });

  it('names zset-max-listpack-entries below 128 (the delivery index’s chunks), and nothing at 128', async () => {
    const low = await redisSettingWarnings(redis);
    expect(low).toEqual([expect.stringMatching(/zset-max-listpack-entries is 64; 128 is recommended/)]);
    await redis.config('SET', 'zset-max-listpack-entries', '128');
    expect(await redisSettingWarnings(redis)).toEqual([]);
  });
});
