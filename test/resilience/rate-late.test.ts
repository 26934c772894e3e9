// A rate-limited delivery sent late for its slot takes a fresh slot instead of going at once: a
// stalled worker's held deliveries, let through together when it wakes, were a burst over
// perSecond (rate-limit.test.ts saw 111 sends in a 5 s window of a 100 limit once); once a run, so
// a queue that is always slow cannot hold it forever. Real Redis, own key prefix; the stall is a
// reservation set in the past, or an in-process wait that ends late.
import { describe, expect, it } from 'vitest';
import { RATE_LATE_MS, createRateLimiter } from '../../src/resilience/rate-limit.js';
import { useRedisPrefix } from '../helpers/harness.js';

const { redis, keys } = useRedisPrefix();

async function redisNow(): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Number(us) / 1000;
}

describe('rate limit: late sends', () => {
  const slotKey = (sub: string, id: string) => `${keys.rate(sub)}:slot:${id}`;
  /** The subscription's next free slot `ms` from now (a backlog in front of it). */
  const backlog = async (sub: string, ms: number) =>
    redis.set(keys.rate(sub), ((await redisNow()) + ms).toFixed(3), 'PX', ms + 10_000);

  it('lets a held delivery back on time through its reserved slot; one that missed it waits for a fresh slot, once', async () => {
    const rate = createRateLimiter(redis, keys);
    const sub = 'sub_late';
    await backlog(sub, 3_000);

    // Back at its slot: sent at once, its reservation used up.
    await redis.set(slotKey(sub, 'on_time'), (await redisNow()).toFixed(3));
    expect(await rate.take(sub, 'on_time', 10)).toEqual({ go: true, waitMs: 0, final: false });
    expect(await redis.exists(slotKey(sub, 'on_time'))).toBe(0);

    // Back a second after its slot (its worker stalled): held again, for a fresh slot at the end
    // of the line, not sent beside the deliveries whose slots are now.
    await redis.set(slotKey(sub, 'stalled'), ((await redisNow()) - 1_000).toFixed(3));
    const late = await rate.take(sub, 'stalled', 10);
    expect(late.go).toBe(false);
    expect(!late.go && late.holdMs).toBeGreaterThan(2_000);
    const fresh = (await redis.get(slotKey(sub, 'stalled')))!;
    expect(fresh).toMatch(/\|m$/);
    expect(parseFloat(fresh)).toBeGreaterThan((await redisNow()) + 2_000);

    // Its fresh slot missed as well (a queue that is slow every time): sent now, never sent to
    // the end of the line a second time.
    await redis.set(slotKey(sub, 'stalled'), `${((await redisNow()) - 1_000).toFixed(3)}|m`);
    expect(await rate.take(sub, 'stalled', 10)).toEqual({ go: true, waitMs: 0, final: true });
  });

  it('takes a fresh slot when its in-process wait ends late, once, then goes', async () => {
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
    // 10/s: a slot 100 ms ahead is waited for in-process (up to 250 ms is).
    const sub = 'sub_wait';
    await backlog(sub, 100);
    expect(await rate.pass(sub, 'on_time', 10)).toEqual({ go: true });
    expect(sleeps).toHaveLength(1);

    sleeps.length = 0;
    lateBy = RATE_LATE_MS + 30;
    await backlog(sub, 100);
    expect(await rate.pass(sub, 'late', 10)).toEqual({ go: true });
    // The first wait, then a fresh slot's (later in line); late again, it goes.
    expect(sleeps).toHaveLength(2);
    expect(sleeps[1]!).toBeGreaterThan(sleeps[0]!);

    // A fresh slot past the in-process lead is a hold, its reservation marked: when it comes
    // back it is let through however late.
    sleeps.length = 0;
    await backlog(sub, 200);
    const held = await rate.pass(sub, 'held', 10);
    expect(held.go).toBe(false);
    expect(sleeps).toHaveLength(1);
    expect(await redis.get(slotKey(sub, 'held'))).toMatch(/\|m$/);
  });
});
