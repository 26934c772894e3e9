// Operational events (SPEC §8, §9): when Hookline disables a subscription or gives up on a
// delivery, it publishes `subscription.disabled` / `delivery.exhausted` as an event of the
// tenant, through the ordinary publish → fan-out path. The fan-out sends it to the tenant's
// subscriptions that ask for it (src/domain/matching.ts) and, when OPS_WEBHOOK_URL is set, to
// the platform's ops URL: a built-in destination, retried like any delivery, signed with
// OPS_WEBHOOK_SECRET.
//
// No loops: what happens to the delivery of an operational event (it fails for good, or its
// subscriber answers 410) never emits another one. The callers check `isOperational` first.
import type { Config } from '../config.js';
import {
  deliveryExhaustedEvent,
  subscriptionDisabledEvent,
  type DeliveryExhausted,
  type DisabledReason,
} from '../domain/ops-event.js';
import { OPERATIONAL_EVENT_TYPES, type HooklineEvent } from '../domain/event.js';
import type { Subscription } from '../domain/subscription.js';
import type { Logger } from '../logger.js';
import { OPS_MAX_RETRIES, OPS_TARGET } from './targets.js';
import type { Publisher } from './publisher.js';

export interface OpsEvents {
  /** `previous` is the subscription as it was before this disable. */
  subscriptionDisabled(previous: Subscription, reason: DisabledReason, disabledAt: string): Promise<void>;
  /** `tenantId` is the tenant of the delivery's event. */
  deliveryExhausted(tenantId: string, data: DeliveryExhausted): Promise<void>;
}

export interface OpsEventsDeps {
  publisher: Pick<Publisher, 'enqueue'>;
  logger: Logger;
  /** Counts each operational event published (metrics). */
  onEmitted?: (type: HooklineEvent['type']) => void;
}

export function createOpsEvents(deps: OpsEventsDeps): OpsEvents {
  /**
   * Never throws: the delivery or disable it reports is recorded already, and failing the job
   * over its report would attempt the delivery again.
   */
  async function emit(event: HooklineEvent): Promise<void> {
    try {
      const [result] = await deps.publisher.enqueue([event]);
      if (!result?.duplicate) deps.onEmitted?.(event.type);
    } catch (err) {
      deps.logger.error({ err, eventId: event.id, type: event.type }, 'operational event not published');
    }
  }

  return {
    subscriptionDisabled: (previous, reason, disabledAt) =>
      emit(
        subscriptionDisabledEvent(
          previous.tenantId,
          { subscriptionId: previous.id, reason, disabledAt },
          previous.updatedAt,
        ),
      ),
    deliveryExhausted: (tenantId, data) => emit(deliveryExhaustedEvent(tenantId, data)),
  };
}

/** The ops URL as a destination, or undefined when OPS_WEBHOOK_URL is not set. */
export function opsTarget(
  config: Pick<Config, 'OPS_WEBHOOK_URL' | 'OPS_WEBHOOK_SECRET'>,
): Subscription | undefined {
  if (!config.OPS_WEBHOOK_URL || !config.OPS_WEBHOOK_SECRET) return undefined;
  const epoch = new Date(0).toISOString();
  return {
    id: OPS_TARGET,
    tenantId: '',
    webhookUrl: config.OPS_WEBHOOK_URL,
    events: [...OPERATIONAL_EVENT_TYPES],
    channels: [],
    senders: [],
    reportType: 'all',
    format: 'native',
    method: 'POST',
    encoding: 'json',
    authType: 'none',
    timeoutMs: 10_000,
    maxRetries: OPS_MAX_RETRIES,
    status: 'active',
    signingSecrets: [{ secret: config.OPS_WEBHOOK_SECRET }],
    createdAt: epoch,
    updatedAt: epoch,
    authVersion: 1,
  };
}
