// A rate-limited delivery sent late for its slot takes a fresh slot instead of going at once: a
// stalled worker's held deliveries, let through together when it wakes, were a burst over
// perSecond (rate-limit.test.ts saw 111 sends in a 5 s window of a 100 limit once). Real Redis,
// own key prefix; the stall is a reservation set in the past, or an in-process wait that ends late.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { keyspace } from '../../src/redis/client.js';
import { RATE_LATE_MS, createRateLimiter } from '../../src/resilience/rate-limit.js';
import { deleteKeys } from '../helpers/harness.js';

const config = testConfig();
const redis = new Redis(config.REDIS_URL);
const keys = keyspace(config.REDIS_PREFIX);
afterAll(async () => {
  await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
  redis.disconnect();
});

async function redisNow(): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Number(us) / 1000;
}

describe('rate limit: late sends', () => {
  it('lets a held delivery back on time through its reserved slot, but one that missed it waits for a fresh slot', async () => {
    const rate = createRateLimiter(redis, keys);
    const sub = 'sub_late';
    // 10/s: 30 takes put the theoretical arrival time about 3 s ahead; the later ones are held.
    const verdicts = [];
    for (let i = 0; i < 30; i++) verdicts.push(await rate.take(sub, `dlv_${i}`, 10));
    expect(verdicts.filter((v) => !v.go).length).toBeGreaterThan(20);
    const slotKey = (id: string) => `${keys.rate(sub)}:slot:${id}`;

    // Came back within RATE_LATE_MS of its slot: sent at once, its reservation used up.
    await redis.set(slotKey('on_time'), (await redisNow()) - RATE_LATE_MS / 2);
    expect(await rate.take(sub, 'on_time', 10)).toEqual({ go: true, waitMs: 0 });
    expect(await redis.exists(slotKey('on_time'))).toBe(0);

    // Came back a second after its slot (its worker stalled): held again, for a fresh slot at the
    // end of the line, not sent beside the deliveries whose slots are now.
    await redis.set(slotKey('stalled'), (await redisNow()) - 1_000);
    const late = await rate.take(sub, 'stalled', 10);
    expect(late.go).toBe(false);
    expect(!late.go && late.holdMs).toBeGreaterThan(2_000);
    const fresh = Number(await redis.get(slotKey('stalled')));
    expect(fresh).toBeGreaterThan((await redisNow()) + 2_000);
  });

  it('takes a fresh slot when its in-process wait ends late, at most twice, then goes', async () => {
    let offset = 0;
    const sleeps: number[] = [];
    let lateBy = 0;
    const rate = createRateLimiter(redis, keys, {
      now: () => Date.now() + offset,
      // The clock moves on by the wait and `lateBy` more: a timer that fires late.
      sleep: async (ms) => {
        sleeps.push(ms);
        offset += ms + lateBy;
      },
    });
    // 30/s: one send puts the next slot 33 ms ahead; up to 166 ms is waited in-process.
    const sub = 'sub_wait';
    expect(await rate.take(sub, 'first', 30)).toMatchObject({ go: true });
    expect(await rate.pass(sub, 'on_time', 30)).toEqual({ go: true });
    expect(sleeps).toHaveLength(1);

    sleeps.length = 0;
    lateBy = RATE_LATE_MS + 30;
    expect(await rate.pass(sub, 'late', 30)).toEqual({ go: true });
    // The first wait and two fresh slots' waits, each later in line than the one before.
    expect(sleeps).toHaveLength(3);
    expect(sleeps[1]!).toBeGreaterThan(sleeps[0]!);
    expect(sleeps[2]!).toBeGreaterThan(sleeps[1]!);
  });
});
