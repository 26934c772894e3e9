// Processes one delivery job: resolve the target, end it `superseded` if a later status of its
// message was delivered, hold it if the subscription is paused or disabled (no attempt spent),
// run one attempt, record it, and decide — in this one place — between success, retry (with the
// delay it records) and giving up. Disabling a subscription on 410 and giving up on a delivery
// are reported as operational events.
import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { isUnreadable, type SecretBox } from '../crypto.js';
import { isOperational, openReportSecret, type HooklineEvent } from '../domain/event.js';
import { staleRank, supersedeLevel } from '../domain/stale-status.js';
import type { Subscription } from '../domain/subscription.js';
import type { Logger } from '../logger.js';
import { safeUrl } from '../logger.js';
import { retryAfterDelay, retryDelay, type BackoffSettings, type DelayCarrier } from '../domain/backoff.js';
import { deliveryJobOptions, isSubscriptionTarget, markField, OPS_TARGET, REPORT_TARGET } from './fanout.js';
import { deliveryOf, eventRefOf, type DeliveryJobData } from './jobs.js';
import type { OpsEvents } from './ops-events.js';
import type { Keys } from '../redis/client.js';
import { execAll, type Attempt, type DeliveryStatus, type DeliveryStore } from '../store/delivery-store.js';
import type { SubscriptionCache } from '../store/subscription-cache.js';
import type { SubscriptionStore } from '../store/subscription-store.js';
import { attempt, type AttemptDeps, type AttemptOutcome } from '../delivery/attempt.js';

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
  /** Reports disables and exhausted deliveries (src/queue/ops-events.ts). */
  ops?: OpsEvents;
  /** OPS_WEBHOOK_URL as a destination; absent when it is not set. */
  opsTarget?: Subscription;
  /** Counts deliveries ended `superseded` (metrics). */
  onSuperseded?: (count: number) => void;
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
  /** A later status of its message was delivered to its destination (`by`): not sent. */
  | { kind: 'superseded'; by: string }
  | { kind: 'hold'; ms: number; park: boolean }
  | { kind: 'succeeded' }
  /** `early`: given up before the last allowed attempt (not retryable). */
  | { kind: 'failed'; message: string; early: boolean }
  | { kind: 'retry'; message: string; delayMs: number };

export interface DeliverOptions {
  /** Called with the delay before a `retrying` record is written (the direct path queues its job). */
  beforeRetryRecord?: (delayMs: number) => Promise<void>;
  /** The fan-out that created the record compared it with its message's status mark already. */
  staleChecked?: boolean;
}

/** The destination of a delivery: a subscription, the event's own deliveryReport, the ops URL. */
async function resolveTarget(
  deps: DeliveryDeps,
  subscriptionId: string,
  event: HooklineEvent,
): Promise<Subscription | undefined> {
  if (subscriptionId === REPORT_TARGET) return reportTarget(event, deps.box);
  if (subscriptionId === OPS_TARGET) return deps.opsTarget;
  return deps.subscriptions.get(subscriptionId);
}

/**
 * Runs one delivery once: resolve the target, end it superseded if its status is stale, hold it
 * if the subscription is paused or disabled or a hook says so (no attempt spent), else make
 * attempt `attemptNo` of `maxAttempts`, record it, log it and report it to the hooks. Everything
 * but moving the job happens here.
 */
export async function deliverOnce(
  deps: DeliveryDeps,
  delivery: DeliveryRef,
  event: HooklineEvent,
  attemptNo: number,
  maxAttempts: number,
  opts: DeliverOptions = {},
): Promise<Verdict> {
  const { id, data } = delivery;
  const sub = await resolveTarget(deps, data.s, event);
  if (!sub || sub.deletedAt) {
    await deps.deliveries.setStatus(id, 'cancelled');
    return { kind: 'cancelled' };
  }
  // Compared before the hold and the hooks: a stale status held by a paused subscription or an
  // open breaker ends when it wakes, and takes no probe or rate-limit slot. One command, only for
  // statuses a later one can supersede.
  const field = markField(event, data.s, sub.dropStaleStatuses);
  const rank = field ? staleRank(event.type) : undefined;
  if (rank !== undefined && !opts.staleChecked) {
    const by = await deps.deliveries.supersedeIfStale(id, event, field, rank);
    if (by) {
      deps.onSuperseded?.(1);
      deps.logger.info(
        { eventId: event.id, deliveryId: id, subscriptionId: data.s, supersededBy: by },
        'delivery superseded',
      );
      return { kind: 'superseded', by };
    }
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
  if (status === 'retrying' && opts.beforeRetryRecord) await opts.beforeRetryRecord(delay!);
  const level = status === 'succeeded' && field ? supersedeLevel(event.type) : undefined;
  await deps.deliveries.recordAttempt(
    id,
    eventRefOf(data),
    record,
    status,
    delay === null ? null : Date.now() + delay,
    level === undefined ? undefined : { tenantId: event.tenantId, messageId: event.messageId!, field, level },
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

  // What happens to an operational event's delivery is never reported by another one (no loops).
  const reports = !isOperational(event.type);
  if (err?.code === 'gone' && isSubscriptionTarget(sub.id)) {
    let previous: Subscription | undefined;
    const next = await deps.subscriptionStore.patchState(sub.id, (s) => {
      if (s.deletedAt || s.status === 'disabled') return undefined;
      previous = s;
      return { ...s, status: 'disabled', disabledReason: 'gone' };
    });
    if (previous && next && reports) await deps.ops?.subscriptionDisabled(previous, 'gone', next.updatedAt);
  }
  if (status === 'succeeded') return { kind: 'succeeded' };
  const message = `${err!.code}: ${err!.message}`;
  const early = attemptNo < maxAttempts;
  if (status === 'failed' && !early && reports)
    await deps.ops?.deliveryExhausted(event.tenantId, {
      deliveryId: id,
      eventId: event.id,
      subscriptionId: data.s,
      attempts: attemptNo,
      lastError: { code: err!.code, message: err!.message, statusCode: outcome.statusCode },
    });
  if (status === 'failed') return { kind: 'failed', message, early };
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
    case 'superseded':
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
