// Per-subscription throttle: `rateLimit.perSecond` enforced across every worker process (a GCRA
// in Redis that reserves each delivery its own send slot, so a backlog is spread out rather than
// retried in bursts). The in-flight cap is src/resilience/in-flight.ts.
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/client.js';
import { luaScript } from '../redis/scripts.js';

/** Sends a little ahead of schedule that are still allowed (absorbs timer and clock jitter). */
export const RATE_TOLERANCE_MS = 20;
/** A delivery near its slot waits in-process (precise) rather than in the queue (coarse)... */
const MAX_LEAD_MS = 250;
/** ...as long as at most this many deliveries of one subscription wait so at once. */
const MAX_WAITING = 5;

/** src/redis/lua/rate-take.lua: {0, ms} send after waiting ms in-process, {1, ms} hold ms. */
const TAKE = luaScript<
  [tat: string, slot: string],
  [intervalMs: number, toleranceMs: number, leadMs: number],
  [hold: 0 | 1, ms: number]
>('rate-take');

export type RateVerdict = { go: true; waitMs: number } | { go: false; holdMs: number };

export function createRateLimiter(redis: Redis, keys: Keys) {
  return {
    /**
     * Takes a send slot for this delivery: go (after waiting `waitMs` in-process), or hold for
     * `holdMs`. The slot is reserved, so the delivery that comes back is let through on time.
     */
    async take(subId: string, deliveryId: string, perSecond: number): Promise<RateVerdict> {
      const key = keys.rate(subId);
      const lead = Math.min(MAX_LEAD_MS, (MAX_WAITING * 1000) / perSecond);
      const [hold, ms] = await TAKE.run(
        redis,
        [key, `${key}:slot:${deliveryId}`],
        [1000 / perSecond, RATE_TOLERANCE_MS, lead],
      );
      return hold === 1 ? { go: false, holdMs: Math.max(1, ms) } : { go: true, waitMs: ms };
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
