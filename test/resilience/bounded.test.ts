// Redis stays bounded (issue 6.4): what traffic leaves behind either expires with the retention
// window or is a fixed set of queue structures; per-subscription indexes are trimmed on write.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import type { HooklineEvent } from '../../src/domain/event.js';
import { keyspace } from '../../src/redis/client.js';
import { createDeliveryStore } from '../../src/store/delivery-store.js';
import { deleteKeys, scanKeys, startHarness, type Harness } from '../helpers/harness.js';
import { startCountingReceiver, type CountingReceiver } from '../fault/helpers.js';
import { makeEvents, publish, subscribe, uniqueTenant } from './support.js';

let h: Harness;
let rx: CountingReceiver;

beforeAll(async () => {
  h = await startHarness({ BREAKER_FAILURES: '5', BREAKER_COOLDOWN_MS: '200' });
  rx = await startCountingReceiver();
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
});

/** Keys under the prefix that never expire, with their size. */
async function persistentKeys(redis: Redis, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const keys of scanKeys(redis, prefix)) {
    for (const k of keys) {
      if ((await redis.pttl(k)) !== -1) continue;
      const type = await redis.type(k);
      const size =
        type === 'zset'
          ? await redis.zcard(k)
          : type === 'set'
            ? await redis.scard(k)
            : type === 'list'
              ? await redis.llen(k)
              : type === 'hash'
                ? await redis.hlen(k)
                : 1;
      out.set(k.slice(prefix.length), size);
    }
  }
  return out;
}

describe('bounded Redis', () => {
  it('leaves no per-delivery key behind that does not expire, whatever the traffic', async () => {
    const tenant = uniqueTenant('bounded');
    await subscribe(h, tenant, `${rx.url}/rated`, { rateLimit: { perSecond: 500 } });
    await subscribe(h, tenant, `${rx.url}/flaky`, { maxRetries: 20 });
    const redis = h.hookline.ctx.redis;
    const prefix = h.config.REDIS_PREFIX;
    let okCount = 0;
    const batch = async (tag: string) => {
      // The flaky receiver fails its first 8 requests of each batch: the breaker opens and closes.
      let flakyFailures = 0;
      const target = okCount + 200;
      rx.mode = (_id, _n, path) => {
        const mode = path === '/flaky' && ++flakyFailures <= 8 ? 'fail' : 'ok';
        if (mode === 'ok') okCount++;
        return mode;
      };
      await publish(h, makeEvents(tenant, 100, tag));
      // Polls state with no event to await; generous bounds: retries and breaker probes of a
      // loaded CI machine take their time, and only the keys left afterwards are asserted.
      await h.until(() => okCount >= target, 60_000);
      // Both queues idle: a fan-out job stays active until its direct first attempts are recorded.
      await h.until(async () => {
        const { deliveriesQueue, eventsQueue } = h.hookline.ctx;
        const counts = await Promise.all(
          [deliveriesQueue, eventsQueue].map((q) => q.getJobCounts('wait', 'active', 'delayed', 'completed')),
        );
        return counts.every((c) => Object.values(c).every((n) => n === 0));
      }, 60_000);
      return persistentKeys(redis, prefix);
    };

    const first = await batch('one');
    const second = await batch('two');
    // Counters and capped streams change value but not in number; nothing else changes at all.
    const varying = (k: string) => /:(id|events)$/.test(k);
    // SCAN returns keys in no particular order: compare sorted.
    const stable = (m: Map<string, number>) =>
      [...m].filter(([k]) => !varying(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    console.log(
      `bounded: ${rx.ids.length} requests in two batches of 100 events x 2 subscriptions; ${first.size} keys without TTL after the first, ${second.size} after the second`,
    );
    expect(stable(second)).toEqual(stable(first));
    expect([...second.keys()].sort()).toEqual([...first.keys()].sort());
    const events = await redis.xlen(`${prefix}:hookline-deliveries:events`);
    expect(events).toBeLessThanOrEqual(11_000); // BullMQ trims its event stream (~10,000)
  }, 180_000);

  it('trims a subscription’s delivery index to the retention window on write', async () => {
    const config = testConfig();
    const redis = new Redis(config.REDIS_URL);
    const keys = keyspace(config.REDIS_PREFIX);
    const store = createDeliveryStore(redis, keys, 60);
    try {
      const now = Date.now();
      const pipe = redis.pipeline();
      const item = (id: string, eventId: string) => ({
        event: { id: eventId, tenantId: 't' } as HooklineEvent,
        deliveries: [{ id, eventId, subscriptionId: 'sub_x', tenantId: 't' }],
      });
      for (let i = 0; i < 50; i++)
        store.addPending(pipe, [item(`dlv_old_${i}`, `evt_${i}`)], now - 120_000 + i);
      store.addPending(pipe, [item('dlv_new', 'evt_new')], now);
      await pipe.exec();
      expect(await store.idsForSubscription('sub_x', { limit: 100 })).toEqual(['dlv_new', String(now)]);
    } finally {
      await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
      redis.disconnect();
    }
  });
});
