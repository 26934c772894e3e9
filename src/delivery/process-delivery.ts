// Processes one delivery job: resolve the target, hold it if the subscription is paused or
// disabled (no attempt spent), run one attempt, record it, and decide — in this one place —
// between success, retry (with the delay it records) and giving up.
import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { isUnreadable, type SecretBox } from '../crypto.js';
import { openReportSecret, type HooklineEvent } from '../domain/event.js';
import type { Subscription } from '../domain/subscription.js';
import type { Logger } from '../logger.js';
import { safeUrl } from '../logger.js';
import { retryAfterDelay, retryDelay, type BackoffSettings, type DelayCarrier } from '../queue/backoff.js';
import { deliveryJobOptions, REPORT_TARGET } from '../queue/fanout.js';
import { deliveryOf, eventRefOf, type DeliveryJobData } from '../queue/names.js';
import type { Keys } from '../redis.js';
import { execAll, type Attempt, type DeliveryStatus, type DeliveryStore } from '../store/delivery-store.js';
import type { SubscriptionCache } from '../store/subscription-cache.js';
import type { SubscriptionStore } from '../store/subscription-store.js';
import { attempt, type AttemptDeps, type AttemptOutcome } from './attempt.js';

/** How long a held delivery sleeps before it looks again (resume wakes it at once). */
export const HOLD_MS = 5 * 60_000;

/** The delivery an attempt is for: its id (its job's id) and its job data. */
export interface DeliveryRef {
  id: string;
  data: DeliveryJobData;
}

export interface AttemptReport {
  delivery: DeliveryRef;
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
  beforeAttempt?(sub: Subscription, delivery: DeliveryRef): Promise<HoldDecision>;
  afterAttempt?(report: AttemptReport): Promise<void> | void;
}

export interface DeliveryDeps {
  /** Opens the events' encrypted deliveryReport secrets. */
  box: SecretBox;
  redis: Redis;
  keys: Keys;
  subscriptions: SubscriptionCache;
  subscriptionStore: SubscriptionStore;
  deliveries: DeliveryStore;
  attempt: AttemptDeps;
  backoff: BackoffSettings;
  logger: Logger;
  hooks: DeliveryHooks[];
  /** The deliveries queue: watch jobs re-queue through it (src/delivery/direct.ts). */
  queue?: Queue<DeliveryJobData>;
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
export function reportTarget(event: HooklineEvent, box: SecretBox): Subscription {
  const r = event.deliveryReport!;
  // The publisher encrypts the secret before the event is stored (see src/queue/publisher.ts).
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

/**
 * What one run of a delivery came to. The caller carries it out: the delivery worker through its
 * BullMQ job (delay, retry, fail), a fan-out's direct attempt by queueing a job when one is needed.
 */
export type Verdict =
  | { kind: 'cancelled' }
  | { kind: 'hold'; ms: number; park: boolean }
  | { kind: 'succeeded' }
  /** `early`: given up before the last allowed attempt (not retryable). */
  | { kind: 'failed'; message: string; early: boolean }
  | { kind: 'retry'; message: string; delayMs: number };

/**
 * Runs one delivery once: resolve the target, hold it if the subscription is paused or disabled
 * or a hook says so (no attempt spent), else make attempt `attemptNo` of `maxAttempts`, record it,
 * log it and report it to the hooks. Everything but moving the job happens here.
 */
export async function deliverOnce(
  deps: DeliveryDeps,
  delivery: DeliveryRef,
  event: HooklineEvent,
  attemptNo: number,
  maxAttempts: number,
  /** Called with the delay before a `retrying` record is written (the direct path queues its job). */
  beforeRetryRecord?: (delayMs: number) => Promise<void>,
): Promise<Verdict> {
  const { id, data } = delivery;
  const sub = data.s === REPORT_TARGET ? reportTarget(event, deps.box) : await deps.subscriptions.get(data.s);
  if (!sub || sub.deletedAt) {
    await deps.deliveries.setStatus(id, 'cancelled');
    return { kind: 'cancelled' };
  }
  if (sub.status !== 'active') return { kind: 'hold', ms: HOLD_MS, park: true };
  for (const h of deps.hooks) {
    const d = (await h.beforeAttempt?.(sub, delivery)) ?? 0;
    const ms = typeof d === 'number' ? d : d.ms;
    if (ms > 0) return { kind: 'hold', ms, park: typeof d === 'number' || d.park };
  }

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
  // A retry's job is queued before this record says `retrying` (see src/delivery/direct.ts).
  if (status === 'retrying' && beforeRetryRecord) await beforeRetryRecord(delay!);
  await deps.deliveries.recordAttempt(
    id,
    eventRefOf(data),
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
  for (const h of deps.hooks) await h.afterAttempt?.({ delivery, event, sub, outcome, status, attemptNo });

  if (err?.code === 'gone' && sub.id !== REPORT_TARGET) {
    await deps.subscriptionStore.patchState(sub.id, (s) => ({
      ...s,
      status: 'disabled',
      disabledReason: 'gone',
    }));
  }
  if (status === 'succeeded') return { kind: 'succeeded' };
  const message = `${err!.code}: ${err!.message}`;
  if (status === 'failed') return { kind: 'failed', message, early: attemptNo < maxAttempts };
  return { kind: 'retry', message, delayMs: delay! };
}

/** A held delivery's record and event outlive the hold; a parked one joins the held set. */
export async function prepareHold(
  deps: DeliveryDeps,
  id: string,
  data: DeliveryJobData,
  ms: number,
  park: boolean,
) {
  // However long it is held (a paused subscription, an open breaker), its record and event
  // outlive the wait. Short rate-limit delays are far inside the retention and skip this.
  if (!park && ms < 60_000) return;
  const pipe = deps.redis.pipeline();
  if (park) {
    const key = deps.keys.subHeld(data.s);
    pipe.sadd(key, id).expire(key, deps.deliveries.ttlSeconds);
  }
  deps.deliveries.keepAliveIn(pipe, id, eventRefOf(data), ms);
  await execAll(pipe);
}

export async function processDelivery(
  deps: DeliveryDeps,
  job: Job<DeliveryJobData>,
  token?: string,
): Promise<DeliveryStatus> {
  const data = job.data;
  if (data.w) return watch(deps, data);
  if (data.f !== undefined) {
    // Shows a direct attempt's final failure in the failed list; a retry from there runs for real.
    const { f, ...rest } = data;
    await job.updateData(rest);
    throw new UnrecoverableError(f);
  }
  const id = data.d;
  const event = typeof data.e === 'string' ? await deps.deliveries.loadEvent(eventRefOf(data)) : data.e;
  if (!event) {
    // The stored event outlived its retention (DELIVERY_LOG_TTL_DAYS): nothing left to send.
    await deps.deliveries.setStatus(id, 'cancelled');
    deps.logger.warn(
      { deliveryId: id, eventId: data.e },
      'delivery cancelled: its event is no longer stored',
    );
    return 'cancelled';
  }
  const before = data.a ?? 0;
  const v = await deliverOnce(
    deps,
    { id, data },
    event,
    before + job.attemptsMade + 1,
    before + (job.opts.attempts ?? 1),
  );
  switch (v.kind) {
    case 'cancelled':
    case 'succeeded':
      return v.kind;
    case 'hold':
      await prepareHold(deps, job.id!, data, v.ms, v.park);
      await job.moveToDelayed(Date.now() + v.ms, token);
      throw new DelayedError();
    case 'failed':
      throw v.early ? new UnrecoverableError(v.message) : new Error(v.message);
    case 'retry':
      throw new RetryLater(v.message, v.delayMs);
  }
}

/**
 * Queues a delivery job for what a delivery's record says is left of it: nothing when it is final
 * or gone, else the attempts not yet made (`a` carries those made). BullMQ ignores the add while
 * a job with its id exists (a retry or hold queued earlier). Answers the status it found and
 * whether it queued.
 */
export async function requeueUnfinished(
  deps: Pick<DeliveryDeps, 'deliveries'> & { queue: Queue<DeliveryJobData> },
  name: string,
  data: DeliveryJobData,
  maxRetries: number,
): Promise<{ status: DeliveryStatus; queued: boolean }> {
  const progress = await deps.deliveries.progress(data.d);
  const status = progress.status ?? 'cancelled';
  const attempts = progress.attempts;
  if ((status !== 'pending' && status !== 'retrying') || attempts > maxRetries)
    return { status, queued: false };
  const job = deliveryOf(data);
  if (attempts > 0) job.a = attempts;
  await deps.queue.add(
    name,
    job,
    deliveryJobOptions(data.d, maxRetries - attempts, deps.deliveries.ttlSeconds),
  );
  return { status, queued: true };
}

/** A watch job's run: queues a direct delivery whose attempt was never recorded (its process died). */
async function watch(deps: DeliveryDeps, data: DeliveryJobData): Promise<DeliveryStatus> {
  if (!deps.queue) throw new Error('no queue to re-queue a direct delivery on');
  const { maxRetries, name } = data.w!;
  const { status, queued } = await requeueUnfinished(
    { deliveries: deps.deliveries, queue: deps.queue },
    name,
    data,
    maxRetries,
  );
  if (queued) deps.logger.warn({ deliveryId: data.d }, 'direct attempt not recorded: delivery queued again');
  return status;
}
