// Per-subscription throttle: `rateLimit.perSecond` enforced across every worker process (a GCRA
// in Redis that reserves each delivery its own send slot, so a backlog is spread out rather than
// retried in bursts). The in-flight cap is src/resilience/in-flight.ts.
import { setTimeout as sleepMs } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/client.js';
import { luaScript } from '../redis/scripts.js';

/** Sends a little ahead of schedule that are still allowed (absorbs timer and clock jitter). */
export const RATE_TOLERANCE_MS = 20;
/**
 * A send this late for its slot (a stalled worker, a slow queue, a late timer) takes a fresh
 * slot instead: sends let through late bunch up with those on time, a burst over the rate. Once
 * a run: the fresh slot is let through however late (src/redis/lua/rate-take.lua).
 */
export const RATE_LATE_MS = 50;
/** A delivery near its slot waits in-process (precise) rather than in the queue (coarse)... */
const MAX_LEAD_MS = 250;
/** ...as long as at most this many deliveries of one subscription wait so at once. */
const MAX_WAITING = 5;

/** src/redis/lua/rate-take.lua: {0, ms, final} send after waiting ms in-process, {1, ms, 0} hold ms. */
const TAKE = luaScript<
  [tat: string, slot: string],
  [intervalMs: number, toleranceMs: number, leadMs: number, lateMs: number, retake: 0 | 1],
  [hold: 0 | 1, ms: number, final: 0 | 1]
>('rate-take');

/** `final`: this delivery has missed a slot in this run already; it goes even if its wait ends late. */
export type RateVerdict = { go: true; waitMs: number; final: boolean } | { go: false; holdMs: number };
export type RatePass = { go: true } | { go: false; holdMs: number };

export interface RateLimiterOptions {
  /** Waits in-process (tests pass a late one). */
  sleep?: (ms: number) => Promise<unknown>;
  now?: () => number;
}

export function createRateLimiter(redis: Redis, keys: Keys, options: RateLimiterOptions = {}) {
  const sleep = options.sleep ?? sleepMs;
  const now = options.now ?? Date.now;
  async function take(
    subId: string,
    deliveryId: string,
    perSecond: number,
    retake = false,
  ): Promise<RateVerdict> {
    const key = keys.rate(subId);
    const lead = Math.min(MAX_LEAD_MS, (MAX_WAITING * 1000) / perSecond);
    const [hold, ms, final] = await TAKE.run(
      redis,
      [key, `${key}:slot:${deliveryId}`],
      [1000 / perSecond, RATE_TOLERANCE_MS, lead, RATE_LATE_MS, retake ? 1 : 0],
    );
    return hold === 1 ? { go: false, holdMs: Math.max(1, ms) } : { go: true, waitMs: ms, final: final === 1 };
  }
  return {
    /**
     * Takes a send slot for this delivery: go (after waiting `waitMs` in-process), or hold for
     * `holdMs`. A held delivery's slot is reserved, so when it comes back it is let through on
     * time; more than RATE_LATE_MS after it, it takes a fresh one (once: see rate-take.lua).
     * `retake`: the caller's in-process wait for its last slot ended late.
     */
    take,
    /**
     * `take`, and the in-process wait: resolves go once this delivery may be sent, or hold. A
     * wait that ends more than RATE_LATE_MS after its slot takes a fresh slot, unless this
     * delivery has missed one in this run already (then it goes): that slot may be an in-process
     * wait again, or a hold whose reservation is let through however late it comes back.
     */
    async pass(subId: string, deliveryId: string, perSecond: number): Promise<RatePass> {
      let retake = false;
      for (;;) {
        const v = await take(subId, deliveryId, perSecond, retake);
        if (!v.go) return v;
        if (v.waitMs <= 0) return { go: true };
        const due = now() + v.waitMs;
        await sleep(v.waitMs);
        if (now() - due <= RATE_LATE_MS || v.final || retake) return { go: true };
        retake = true;
      }
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
