// The destinations Hookline makes up beside a tenant's subscriptions: an event's own
// deliveryReport URL (OTPIQ style) and the platform's OPS_WEBHOOK_URL. The fan-out plans
// deliveries to them, the runner resolves them into subscriptions.
import { isUnreadable, type SecretBox } from '../crypto.js';
import { openReportSecret, type HooklineEvent } from '../domain/event.js';
import { reportMarkField, takesPart } from '../domain/stale-status.js';
import type { Subscription } from '../domain/subscription.js';

/** The event's own deliveryReport destination. */
export const REPORT_TARGET = 'report';
/** Attempts for deliveryReport destinations (OTPIQ promises up to 10 retries). */
export const REPORT_MAX_RETRIES = 10;
/** The platform's OPS_WEBHOOK_URL: a destination of every operational event (src/pipeline/ops-events.ts). */
export const OPS_TARGET = 'ops';
export const OPS_MAX_RETRIES = 10;

/** A tenant's subscription, not one of the destinations Hookline makes up (report, ops). */
export const isSubscriptionTarget = (id: string): boolean => id !== REPORT_TARGET && id !== OPS_TARGET;

/**
 * A destination's field in its message's status mark (stale-status suppression), or '' where
 * statuses are not compared: events that are no status of a message, subscriptions that keep
 * stale statuses (`dropStaleStatuses: false`), the ops URL.
 */
export function markField(event: HooklineEvent, subscriptionId: string, dropStale = true): string {
  if (!event.messageId || !dropStale || !takesPart(event.type)) return '';
  if (subscriptionId === REPORT_TARGET)
    return event.deliveryReport ? reportMarkField(event.tenantId, event.deliveryReport.webhookUrl) : '';
  return subscriptionId === OPS_TARGET ? '' : subscriptionId;
}

/** The event's own deliveryReport destination, as a subscription (OTPIQ style). */
export function reportTarget(event: HooklineEvent, box: SecretBox): Subscription {
  const r = event.deliveryReport!;
  // The publisher encrypts the secret before the event is stored (see src/pipeline/publisher.ts).
  const secret = openReportSecret(event, box);
  return {
    id: REPORT_TARGET,
    tenantId: event.tenantId,
    webhookUrl: r.webhookUrl,
    events: ['*'],
    channels: [],
    senders: [],
    reportType: r.reportType ?? 'all',
    format: 'otpiq',
    method: 'POST',
    encoding: 'json',
    authType: secret ? 'secret' : 'none',
    ...(secret ? { secret: { headerName: 'X-Webhook-Secret', value: secret } } : {}),
    timeoutMs: 10_000,
    maxRetries: 10,
    status: 'active',
    signingSecrets: [],
    createdAt: event.occurredAt,
    updatedAt: event.occurredAt,
    authVersion: 1,
    ...(secret && isUnreadable(secret) ? { unreadableSecrets: ['/deliveryReport/webhookSecret'] } : {}),
  };
}
