// Per-subscription throttles: `rateLimit.perSecond` enforced across every worker process (a GCRA
// in Redis that reserves each delivery its own send slot, so a backlog is spread out rather than
// retried in bursts), and a per-process cap on requests in flight to one subscription.
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/client.js';
import { luaScript } from './breaker.js';

/** Sends a little ahead of schedule that are still allowed (absorbs timer and clock jitter). */
export const RATE_TOLERANCE_MS = 20;
/** A delivery near its slot waits in-process (precise) rather than in the queue (coarse)... */
const MAX_LEAD_MS = 250;
/** ...as long as at most this many deliveries of one subscription wait so at once. */
const MAX_WAITING = 5;

// KEYS: theoretical arrival time (TAT), this delivery's reservation.
// ARGV: interval ms, tolerance ms, lead ms.
// Returns {0, ms}: send after waiting ms in-process, or {1, ms}: hold ms (its slot is reserved).
const TAKE = luaScript(`local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local lead = tonumber(ARGV[3])
local slot = tonumber(redis.call('GET', KEYS[2]))
if slot then
  if slot - now > lead then return {1, math.ceil(slot - now - lead)} end
  redis.call('DEL', KEYS[2])
  return {0, math.max(0, math.ceil(slot - now))}
end
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1])) or 0
if tat < now then tat = now end
local wait = tat - now
redis.call('SET', KEYS[1], string.format('%.3f', tat + interval), 'PX', math.ceil(wait + interval) + 1000)
if wait <= tonumber(ARGV[2]) then return {0, 0} end
if wait <= lead then return {0, math.ceil(wait)} end
redis.call('SET', KEYS[2], string.format('%.3f', tat), 'PX', math.ceil(wait) + 60000)
return {1, math.ceil(wait - lead)}`);

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
      const [hold, ms] = (await TAKE(
        redis,
        [key, `${key}:slot:${deliveryId}`],
        [1000 / perSecond, RATE_TOLERANCE_MS, lead],
      )) as [number, number];
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
