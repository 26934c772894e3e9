// Processes one delivery job: resolve the target, hold it if the subscription is paused or
// disabled (no attempt spent), run one attempt, record it, and decide — in this one place —
// between success, retry (with the delay it records) and giving up.
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { HooklineEvent } from '../domain/event.js';
import type { Subscription } from '../domain/subscription.js';
import type { SecretBox } from '../crypto.js';
import type { Logger } from '../logger.js';
import { safeUrl } from '../logger.js';
import { retryAfterDelay, retryDelay, type BackoffSettings, type DelayCarrier } from '../queue/backoff.js';
import { REPORT_TARGET } from '../queue/fanout.js';
import type { DeliveryJobData } from '../queue/names.js';
import type { Keys } from '../redis.js';
import { execAll, type Attempt, type DeliveryStatus, type DeliveryStore } from '../store/delivery-store.js';
import type { SubscriptionCache } from '../store/subscription-cache.js';
import type { SubscriptionStore } from '../store/subscription-store.js';
import { attempt, type AttemptDeps, type AttemptOutcome } from './attempt.js';

/** How long a held delivery sleeps before it looks again (resume wakes it at once). */
export const HOLD_MS = 5 * 60_000;

export interface AttemptReport {
  job: Job<DeliveryJobData>;
  event: HooklineEvent;
  sub: Subscription;
  outcome: AttemptOutcome;
  status: DeliveryStatus;
  attemptNo: number;
}

/**
 * How long to hold a delivery without spending an attempt (0 = go ahead). A bare number parks it:
 * it joins the subscription's held set, which resume and a closing breaker release at once.
 * `park: false` (rate limits, in-flight caps) only delays it.
 */
export type HoldDecision = number | { ms: number; park: boolean };

/** Extension points for the breaker, rate limiter and metrics. */
export interface DeliveryHooks {
  beforeAttempt?(sub: Subscription, job: Job<DeliveryJobData>): Promise<HoldDecision>;
  afterAttempt?(report: AttemptReport): Promise<void> | void;
}

export interface DeliveryDeps {
  /** Opens sealed deliveryReport secrets. */
  box?: SecretBox;
  redis: Redis;
  keys: Keys;
  subscriptions: SubscriptionCache;
  subscriptionStore: SubscriptionStore;
  deliveries: DeliveryStore;
  attempt: AttemptDeps;
  backoff: BackoffSettings;
  logger: Logger;
  hooks: DeliveryHooks[];
}

class RetryLater extends Error implements DelayCarrier {
  constructor(
    message: string,
    readonly retryDelayMs: number,
  ) {
    super(message);
    this.name = 'RetryLater';
  }
}

/** The event's own deliveryReport destination, as a subscription (OTPIQ style). */
export function reportTarget(event: HooklineEvent, box?: SecretBox): Subscription {
  const r = event.deliveryReport!;
  // The publisher seals the secret before the event is stored (see src/queue/publisher.ts).
  const secret = r.webhookSecret && box ? box.open(r.webhookSecret) : r.webhookSecret;
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
  };
}

async function hold(
  deps: DeliveryDeps,
  job: Job<DeliveryJobData>,
  token: string | undefined,
  ms: number,
  park = true,
): Promise<never> {
  if (park) {
    const key = deps.keys.subHeld(job.data.s);
    await execAll(deps.redis.pipeline().sadd(key, job.id!).expire(key, deps.deliveries.ttlSeconds));
  }
  // However long it is held (a paused subscription, an open breaker), its record and event
  // outlive the wait. Short rate-limit delays are far inside the retention and skip this.
  if (park || ms >= 60_000) {
    const e = job.data.e;
    await deps.deliveries.keepAlive(job.data.d, typeof e === 'string' ? e : e.id, ms);
  }
  await job.moveToDelayed(Date.now() + ms, token);
  throw new DelayedError();
}

export async function processDelivery(
  deps: DeliveryDeps,
  job: Job<DeliveryJobData>,
  token?: string,
): Promise<DeliveryStatus> {
  const { d: id, s: subId, e } = job.data;
  const event = typeof e === 'string' ? await deps.deliveries.loadEvent(e) : e;
  if (!event) {
    // The stored event outlived its retention (DELIVERY_LOG_TTL_DAYS): nothing left to send.
    await deps.deliveries.setStatus(id, 'cancelled');
    deps.logger.warn({ deliveryId: id, eventId: e }, 'delivery cancelled: its event is no longer stored');
    return 'cancelled';
  }
  const sub = subId === REPORT_TARGET ? reportTarget(event, deps.box) : await deps.subscriptions.get(subId);
  if (!sub || sub.deletedAt) {
    await deps.deliveries.setStatus(id, 'cancelled');
    return 'cancelled';
  }
  if (sub.status !== 'active') return hold(deps, job, token, HOLD_MS);
  for (const h of deps.hooks) {
    const d = (await h.beforeAttempt?.(sub, job)) ?? 0;
    const ms = typeof d === 'number' ? d : d.ms;
    if (ms > 0) return hold(deps, job, token, ms, typeof d === 'number' || d.park);
  }

  const attemptNo = job.attemptsMade + 1;
  const maxAttempts = job.opts.attempts ?? 1;
  const outcome = await attempt(deps.attempt, sub, event);
  const err = outcome.error;
  let status: DeliveryStatus;
  let delay: number | null = null;
  if (outcome.ok) status = 'succeeded';
  else if (!err!.retryable || attemptNo >= maxAttempts) status = 'failed';
  else {
    status = 'retrying';
    delay =
      outcome.retryAfterMs !== undefined
        ? retryAfterDelay(outcome.retryAfterMs, deps.backoff)
        : retryDelay(attemptNo, deps.backoff);
  }

  const record: Attempt = {
    n: attemptNo,
    startedAt: new Date(outcome.startedAt).toISOString(),
    durationMs: outcome.durationMs,
    statusCode: outcome.statusCode,
    error: err ? { code: err.code, message: err.message } : null,
    responseHeaders: outcome.responseHeaders,
    responseBody: outcome.responseBody,
  };
  await deps.deliveries.recordAttempt(
    id,
    event.id,
    record,
    status,
    delay === null ? null : Date.now() + delay,
  );
  deps.logger.info(
    {
      eventId: event.id,
      deliveryId: id,
      subscriptionId: sub.id,
      attempt: attemptNo,
      statusCode: outcome.statusCode,
      durationMs: outcome.durationMs,
      outcome: status,
      errorCode: err?.code,
      url: safeUrl(sub.webhookUrl),
    },
    'delivery attempt',
  );
  for (const h of deps.hooks) await h.afterAttempt?.({ job, event, sub, outcome, status, attemptNo });

  if (err?.code === 'gone' && sub.id !== REPORT_TARGET) {
    await deps.subscriptionStore.patchState(sub.id, (s) => ({
      ...s,
      status: 'disabled',
      disabledReason: 'gone',
    }));
  }
  if (status === 'succeeded') return status;
  if (status === 'failed') {
    if (attemptNo < maxAttempts) throw new UnrecoverableError(`${err!.code}: ${err!.message}`);
    throw new Error(`${err!.code}: ${err!.message}`);
  }
  throw new RetryLater(`${err!.code}: ${err!.message}`, delay!);
}
