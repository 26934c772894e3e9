// Circuit breaker, auto-disable, per-subscription rate limits and in-flight caps, as one delivery
// hook (SPEC §5). Nothing here fails a delivery: it is held (no attempt spent) or let through.
// The in-flight cap (`maxInFlight`) is counted in Redis across processes: a delivery over it is
// parked (src/pipeline/parked.ts) and its lease is given back when its run ends, whatever the end.
import type { Context } from './context.js';
import { isOperational, type HooklineEvent } from '../domain/event.js';
import { isSubscriptionTarget } from './targets.js';
import { releaseHeld } from './held.js';
import type { Subscription } from '../domain/subscription.js';
import { createBreaker, type Breaker } from '../resilience/breaker.js';
import type { DeliveryHooks } from './runner.js';
import { createRateLimiter } from '../resilience/rate-limit.js';
import { createInFlightCap } from '../resilience/in-flight.js';
import { capOf, createParking, parkMs } from './parked.js';

/** Subscriptions read per metrics scrape, and how many of them get a labelled series. */
const METRICS_SUBS_READ = 1_000;
const METRICS_TOP = 10;

/** Longest an attempt can take (a 401 from an OAuth2 subscriber is retried once at once). */
const attemptBoundMs = (sub: Subscription) => sub.timeoutMs * 2 + 5_000;

export interface Resilience {
  breaker: Breaker;
  hook: DeliveryHooks;
  /** Waits for leases being given back (shutdown), then stops renewing. */
  close(): Promise<void>;
}

/** The breaker, rate-limit and in-flight hook; compose puts it first in `ctx.deliveryHooks`. */
export function createResilience(ctx: Context): Resilience {
  const { config, logger } = ctx;
  const disableAfterMs = config.disableAfterMs;
  const breaker = createBreaker(ctx.redis, ctx.keys, {
    failures: config.BREAKER_FAILURES,
    cooldownMs: config.BREAKER_COOLDOWN_MS,
    // Failures spaced by the longest retry delay are still "consecutive"; long enough to disable.
    stateTtlMs: Math.max(disableAfterMs, config.RETRY_MAX_DELAY_MS, config.BREAKER_COOLDOWN_MS) * 2,
    onState: (subId, phase) => ctx.metrics.breakerState(subId, phase),
  });
  // A scrape reads again the breakers this process shows open or half-open (no I/O while none is).
  ctx.metrics.trackBreakers(() => breaker.refresh(), logger);
  const rate = createRateLimiter(ctx.redis, ctx.keys);
  const cap = createInFlightCap(ctx.redis, ctx.keys, { leaseMs: config.IN_FLIGHT_LEASE_MS });
  const parking = createParking(ctx, cap);
  ctx.metrics.trackInFlight(() => cap.snapshot(METRICS_SUBS_READ, METRICS_TOP), logger);
  /** delivery id → its subscription and cap, for the leases this process holds. */
  const leased = new Map<string, { subId: string; cap: number }>();
  const giving = new Set<Promise<void>>();
  const releasing = new Map<string, Promise<unknown>>();

  /** Promotes the deliveries an open breaker parked, once at a time per subscription. */
  function release(subId: string): void {
    if (releasing.has(subId)) return;
    const p = releaseHeld(ctx, subId)
      .then((n) => logger.info({ subscriptionId: subId, released: n }, 'circuit breaker closed'))
      .catch((err: unknown) =>
        logger.warn({ err, subscriptionId: subId }, 'releasing held deliveries failed'),
      )
      .finally(() => releasing.delete(subId));
    releasing.set(subId, p);
  }

  /** `event`: the one whose failed delivery tipped it (an operational one reports nothing). */
  async function disable(sub: Subscription, failingSince: number, event: HooklineEvent): Promise<void> {
    let previous: Subscription | undefined;
    const next = await ctx.subscriptionStore.patchState(sub.id, (s) => {
      if (s.status !== 'active' || s.deletedAt) return undefined;
      previous = s;
      return { ...s, status: 'disabled', disabledReason: 'failing' };
    });
    if (!previous || !next) return;
    ctx.subscriptions.invalidate(next.tenantId, next.id);
    // Resume starts afresh: a new run of failures, a new clock.
    await breaker.reset(sub.id);
    logger.warn(
      { subscriptionId: sub.id, failingSince: new Date(failingSince).toISOString() },
      'subscription disabled: failing without a success',
    );
    if (!isOperational(event.type)) await ctx.ops.subscriptionDisabled(previous, 'failing', next.updatedAt);
  }

  const hook: DeliveryHooks = {
    async beforeAttempt(sub, delivery) {
      if (!isSubscriptionTarget(sub.id)) return 0;
      const jobId = delivery.id;
      const gate = await breaker.check(sub.id, jobId, attemptBoundMs(sub));
      // Parked: a closing breaker (or resume) releases it before its time.
      if (!gate.go) return gate.holdMs;
      if (sub.rateLimit) {
        const rated = await rate.pass(sub.id, jobId, sub.rateLimit.perSecond);
        if (!rated.go) {
          await breaker.cancelProbe(sub.id, jobId);
          return { ms: rated.holdMs, park: false };
        }
      }
      // Last: a lease is held only by a delivery about to be sent. A rate-limit slot taken by
      // one parked here goes unused (its reservation is spent): it takes a fresh slot when it
      // comes back, so a burst of deliveries unparked together is spread out again.
      const capValue = capOf(ctx, sub);
      const v = await cap.acquire(sub.id, jobId, capValue);
      if (v.handed.length > 0) parking.wake(sub.id, v.handed, capValue);
      if (!v.go) {
        await breaker.cancelProbe(sub.id, jobId);
        return { ms: parkMs(), park: false };
      }
      leased.set(jobId, { subId: sub.id, cap: capValue });
      return 0;
    },

    afterRun(delivery) {
      const lease = leased.get(delivery.id);
      if (!lease) return;
      leased.delete(delivery.id);
      // In the background: the run's end does not wait for Redis. A lost release expires.
      const p: Promise<void> = cap
        .release(lease.subId, delivery.id, lease.cap)
        .then((handed) => parking.wake(lease.subId, handed, lease.cap))
        .catch((err: unknown) =>
          logger.warn({ err, deliveryId: delivery.id }, 'in-flight lease not given back; it expires'),
        )
        .finally(() => giving.delete(p));
      giving.add(p);
    },

    async afterAttempt({ delivery, sub, outcome, event }) {
      if (!isSubscriptionTarget(sub.id)) return;
      const r = await breaker.record(sub.id, delivery.id, outcome.ok);
      if (r.opened) {
        logger.warn({ subscriptionId: sub.id, failures: r.failures }, 'circuit breaker opened');
      }
      if (r.closed) release(sub.id);
      if (
        !outcome.ok &&
        disableAfterMs > 0 &&
        r.failingSince !== null &&
        r.now - r.failingSince >= disableAfterMs
      ) {
        await disable(sub, r.failingSince, event);
      }
    },
  };
  return {
    breaker,
    hook,
    async close() {
      await Promise.allSettled([...giving]);
      cap.close();
    },
  };
}
