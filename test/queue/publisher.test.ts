// createPublisher with batches larger than one claim command (library callers have no batch
// cap): every id is claimed once, confirmed for 24 h, and a re-publish is all duplicates.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { createPublisher, IDEMPOTENCY_SECONDS, type Publisher } from '../../src/queue/publisher.js';
import { keyspace } from '../../src/redis.js';
import { deleteKeys, scanKeys } from '../helpers/harness.js';

const config = testConfig();
let publisher: Publisher;
let redis: Redis;

beforeAll(() => {
  publisher = createPublisher({ redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX });
  redis = new Redis(config.REDIS_URL);
});
afterAll(async () => {
  await publisher.close();
  await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
  redis.disconnect();
});

describe('publisher', () => {
  it('claims and confirms 100,000 ids in one call (one command would exceed the JS argument limit), then refuses them all', async () => {
    const n = 100_000;
    const events = Array.from({ length: n }, (_, i) => ({
      id: `evt_pub_${i}`,
      tenantId: 't_pub',
      type: 'message.delivered',
      channel: 'sms',
      messageId: `m${i}`,
    }));
    const first = await publisher.publishBatch(events);
    expect(first).toHaveLength(n);
    expect(first.filter((r) => r.duplicate)).toHaveLength(0);
    expect(first.map((r) => r.id)).toEqual(events.map((e) => e.id));

    const keys = keyspace(config.REDIS_PREFIX);
    let idem = 0;
    for await (const batch of scanKeys(redis, config.REDIS_PREFIX))
      idem += batch.filter((k) => k.startsWith(keys.idem(''))).length;
    expect(idem).toBe(n);
    // Confirmed for the idempotency window, not left at the short claim.
    for (const i of [0, 5_000, 50_000, n - 1]) {
      expect(await redis.ttl(keys.idem(`evt_pub_${i}`))).toBeGreaterThan(IDEMPOTENCY_SECONDS - 60);
    }

    const again = await publisher.publishBatch(events);
    expect(again.every((r) => r.duplicate)).toBe(true);
  });
});
