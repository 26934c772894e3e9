// Operational events (SPEC §8, §9): what Hookline tells a tenant and the platform about its own
// actions. Ids are derived from what they report, so the same fact reported twice (two workers
// disabling one subscription at once, a re-run job) is one event: the publisher's idempotency
// drops the second.
import type { HooklineEvent } from './event.js';

export type DisabledReason = 'gone' | 'failing';

export interface SubscriptionDisabled {
  subscriptionId: string;
  reason: DisabledReason;
  disabledAt: string;
}

export interface DeliveryExhausted {
  deliveryId: string;
  eventId: string;
  /** The subscription, or `report` for an event's own deliveryReport destination. */
  subscriptionId: string;
  /** Attempts made, the last one included. */
  attempts: number;
  lastError: { code: string; message: string; statusCode: number | null };
}

function opsEvent(
  id: string,
  tenantId: string,
  type: HooklineEvent['type'],
  data: object,
  at: number,
): HooklineEvent {
  return {
    id,
    tenantId,
    type,
    occurredAt: new Date(at).toISOString(),
    acceptedAt: at,
    data: { ...data },
  };
}

/**
 * `previousUpdatedAt`: when the subscription last changed before this disable. A disable, resume
 * and disable again are two events; two workers disabling it from the same state are one.
 */
export function subscriptionDisabledEvent(
  tenantId: string,
  data: SubscriptionDisabled,
  previousUpdatedAt: string,
  now = Date.now(),
): HooklineEvent {
  const id = `evt_ops.disabled.${data.subscriptionId}.${Date.parse(previousUpdatedAt) || 0}`;
  return opsEvent(id, tenantId, 'subscription.disabled', data, now);
}

/** One per delivery: a re-drive is a new delivery with its own id. */
export function deliveryExhaustedEvent(
  tenantId: string,
  data: DeliveryExhausted,
  now = Date.now(),
): HooklineEvent {
  return opsEvent(`evt_ops.exhausted.${data.deliveryId}`, tenantId, 'delivery.exhausted', data, now);
}
