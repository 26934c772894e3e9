// Subscription actions (SPEC §4): pause, resume (held deliveries released), send a test event,
// rotate the signing secret. Each state change drops the cached copy.
import { attempt, type AttemptOutcome } from '../delivery/attempt.js';
import { notFound } from '../domain/errors.js';
import type { EventType } from '../domain/event.js';
import { sampleEvent } from '../domain/sample-event.js';
import type { Subscription } from '../domain/subscription.js';
import type { Context } from '../pipeline/context.js';
import { releaseHeld } from '../pipeline/held.js';
import type { Tenant } from './subscriptions.js';

/** Default grace period of a rotated signing secret: 24 hours. */
export const DEFAULT_GRACE_SECONDS = 86_400;
export const MAX_GRACE_SECONDS = 30 * 86_400;

export type ActionDeps = Pick<
  Context,
  'subscriptionStore' | 'subscriptions' | 'agent' | 'tokens' | 'redis' | 'keys' | 'deliveriesQueue'
>;

export interface TestResult {
  subscription: Subscription;
  event: { id: string; type: string };
  outcome: AttemptOutcome;
}

export function createSubscriptionActions(ctx: ActionDeps) {
  const store = ctx.subscriptionStore;

  /** Applies a state change to a live subscription and drops this process's cached copy. */
  async function setState(id: string, tenant: Tenant, fn: (s: Subscription) => Subscription) {
    const sub = await store.getVisible(id, tenant);
    const next = await store.patchState(sub.id, (s) => (s.deletedAt ? undefined : fn(s)));
    if (!next || next.deletedAt) throw notFound('subscription');
    ctx.subscriptions.invalidate(next.tenantId, next.id);
    return next;
  }

  const withStatus = (status: Subscription['status']) => (s: Subscription) => {
    const { disabledReason: _reason, ...rest } = s;
    return { ...rest, status };
  };

  return {
    /** Deliveries wait (no attempt spent) until resume. */
    pause: (id: string, tenant: Tenant): Promise<Subscription> => setState(id, tenant, withStatus('paused')),

    /** Re-enables a paused or disabled subscription; its held deliveries are sent at once. */
    async resume(id: string, tenant: Tenant): Promise<Subscription> {
      const next = await setState(id, tenant, withStatus('active'));
      await releaseHeld(ctx, next.id);
      return next;
    },

    /** Sends one sample event now, with the subscription's format, auth and signature. */
    async test(id: string, tenant: Tenant, type?: EventType): Promise<TestResult> {
      const sub = await store.getVisible(id, tenant);
      const event = sampleEvent(sub, type);
      const outcome = await attempt({ agent: ctx.agent, tokens: ctx.tokens }, sub, event);
      return { subscription: sub, event, outcome };
    },

    /**
     * A new signing secret; the previous one keeps signing beside it for `gracePeriodSeconds`
     * (default 24 h; 0 drops it now).
     */
    async rotateSecret(
      id: string,
      tenant: Tenant,
      gracePeriodSeconds = DEFAULT_GRACE_SECONDS,
    ): Promise<{ signingSecret: string; previousSecretExpiresAt: string | null }> {
      const sub = await store.getVisible(id, tenant);
      const graceMs = gracePeriodSeconds * 1000;
      const next = await store.rotateSecret(sub.id, graceMs);
      if (!next) throw notFound('subscription');
      ctx.subscriptions.invalidate(next.tenantId, next.id);
      const previous = next.signingSecrets[1];
      return {
        signingSecret: next.signingSecrets[0]!.secret,
        previousSecretExpiresAt:
          graceMs > 0 && previous?.expiresAt ? new Date(previous.expiresAt).toISOString() : null,
      };
    },
  };
}

export type SubscriptionActions = ReturnType<typeof createSubscriptionActions>;
