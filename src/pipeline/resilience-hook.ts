// Circuit breaker, auto-disable, per-subscription rate limits and in-flight caps, as one delivery
// hook (SPEC §5). Nothing here fails a delivery: it is held (no attempt spent) or let through.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from './context.js';
import { isOperational, type HooklineEvent } from '../domain/event.js';
import { isSubscriptionTarget } from './targets.js';
import { releaseHeld } from './held.js';
import type { Subscription } from '../domain/subscription.js';
import { createBreaker, type Breaker } from '../resilience/breaker.js';
import type { DeliveryHooks } from './runner.js';
import { createInFlightLimiter, createRateLimiter } from '../resilience/rate-limit.js';

/** In-flight cap per slow subscription and process: a quarter of the worker's concurrency. */
function inFlightLimit(config: Context['config']): number {
  return Math.max(1, Math.min(config.MAX_CONNECTIONS_PER_ORIGIN, Math.ceil(config.DELIVERY_CONCURRENCY / 4)));
}

/** Longest an attempt can take (a 401 from an OAuth2 subscriber is retried once at once). */
const attemptBoundMs = (sub: Subscription) => sub.timeoutMs * 2 + 5_000;

export interface Resilience {
  breaker: Breaker;
  hook: DeliveryHooks;
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
  const inFlight = createInFlightLimiter({ limit: inFlightLimit(config) });
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
        const rated = await rate.take(sub.id, jobId, sub.rateLimit.perSecond);
        if (!rated.go) {
          await breaker.cancelProbe(sub.id, jobId);
          return { ms: rated.holdMs, park: false };
        }
        if (rated.waitMs > 0) await sleep(rated.waitMs);
      }
      // Over the cap a rate-limit slot goes unused: harmless, the subscriber is the bottleneck then.
      if (!inFlight.tryAcquire(sub.id, jobId, attemptBoundMs(sub))) {
        await breaker.cancelProbe(sub.id, jobId);
        return { ms: inFlight.holdMs(sub.id), park: false };
      }
      return 0;
    },

    async afterAttempt({ delivery, sub, outcome, event }) {
      if (!isSubscriptionTarget(sub.id)) return;
      inFlight.release(sub.id, delivery.id, outcome.durationMs);
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
  return { breaker, hook };
}
