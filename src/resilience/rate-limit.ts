// Per-subscription throttles: `rateLimit.perSecond` enforced across every worker process (a GCRA
// in Redis that reserves each delivery its own send slot, so a backlog is spread out rather than
// retried in bursts), and a per-process cap on requests in flight to one subscription.
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

export interface InFlightOptions {
  /** Requests in flight to one slow subscription from this process. */
  limit: number;
  /** A subscriber is slow when its attempts take longer than this (on average, or one under way). */
  slowMs?: number;
  random?: () => number;
}

interface Slots {
  /** job id → start time of the attempts under way. */
  started: Map<string, number>;
  /** Moving average of attempt durations. */
  avgMs: number;
}

/**
 * Caps the requests in flight to a slow subscriber, so one that hangs holds at most `limit` of
 * a worker's concurrency (SPEC §5: a slow subscriber never starves the others). Fast subscribers
 * are not capped: their slots turn over quickly and holding them back would only cost throughput.
 */
export function createInFlightLimiter(opts: InFlightOptions) {
  const slowMs = opts.slowMs ?? 500;
  const random = opts.random ?? Math.random;
  const bySub = new Map<string, Slots>();

  function hasRoom(s: Slots, leaseMs: number): boolean {
    if (s.started.size < opts.limit) return true;
    const now = Date.now();
    let oldest = now;
    for (const [id, at] of s.started) {
      if (at < now - leaseMs)
        s.started.delete(id); // its release was lost (the attempt threw)
      else oldest = Math.min(oldest, at);
    }
    const slow = s.avgMs > slowMs || oldest < now - slowMs;
    return !slow || s.started.size < opts.limit;
  }

  return {
    limit: opts.limit,

    /** Takes a slot, or answers false when the subscriber is slow and at its cap. */
    tryAcquire(subId: string, jobId: string, leaseMs: number): boolean {
      let s = bySub.get(subId);
      if (!s) bySub.set(subId, (s = { started: new Map(), avgMs: 0 }));
      if (!hasRoom(s, leaseMs)) return false;
      s.started.set(jobId, Date.now());
      return true;
    },

    release(subId: string, jobId: string, durationMs?: number): void {
      const s = bySub.get(subId);
      if (!s || !s.started.delete(jobId)) return;
      if (durationMs !== undefined) s.avgMs = s.avgMs === 0 ? durationMs : s.avgMs * 0.8 + durationMs * 0.2;
      if (s.started.size === 0 && bySub.size > 10_000) bySub.delete(subId);
    },

    /** How long a delivery over the cap is held: about one attempt of this subscriber, jittered. */
    holdMs(subId: string): number {
      const avg = bySub.get(subId)?.avgMs ?? 0;
      const base = Math.min(Math.max(avg, slowMs), 30_000);
      return Math.round(base * (0.5 + random()));
    },

    inFlight: (subId: string) => bySub.get(subId)?.started.size ?? 0,
  };
}

export type InFlightLimiter = ReturnType<typeof createInFlightLimiter>;
