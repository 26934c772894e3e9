// Runs a delivery once, for a delivery job and for a fan-out's direct first attempt alike:
// resolve its destination → decide (cancelled, superseded, held, or run the beforeAttempt hooks
// and make the attempt) → commit(verdict). `decide` writes nothing but a superseded record (the
// staleness check and its write are one script); `commit` writes the outcome and carries it out,
// and is the one place that orders a delivery's job against its record:
// - the BullMQ job that runs a delivery again exists before its record says `retrying`: a
//   delivery job is that job already (BullMQ delays it when the processor throws RetryLater);
//   a direct attempt's `retry` job is queued first, at least DIRECT_RETRY_MIN_DELAY_MS ahead;
// - a held delivery's job exists before it joins its subscription's held set (resume and a
//   closing breaker promote the jobs listed there), and no attempt is spent on it.
// Disabling a subscription on 410 and giving up on a delivery are reported as operational events.
import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { SecretBox } from '../crypto.js';
import { isOperational, type HooklineEvent } from '../domain/event.js';
import { staleRank, supersedeLevel } from '../domain/stale-status.js';
import type { Subscription } from '../domain/subscription.js';
import type { Logger } from '../logger.js';
import { safeUrl } from '../logger.js';
import { retryAfterDelay, retryDelay, type BackoffSettings, type DelayCarrier } from '../domain/backoff.js';
import { deliveryJobOptions, deliveryOf, eventRefOf, JOB, roleOf, type DeliveryJobData } from './jobs.js';
import { releaseHeldIds } from './held.js';
import type { OpsEvents } from './ops-events.js';
import { isSubscriptionTarget, markField, OPS_TARGET, REPORT_TARGET, reportTarget } from './targets.js';
import type { Keys } from '../redis/client.js';
import { execAll, type Attempt, type DeliveryStatus, type DeliveryStore } from '../store/delivery-store.js';
import type { SubscriptionCache } from '../store/subscription-cache.js';
import type { SubscriptionStore } from '../store/subscription-store.js';
import { attempt, type AttemptDeps, type AttemptOutcome } from '../delivery/attempt.js';
import type { Context, Span } from '@opentelemetry/api';
import {
  ATTR,
  DECISION,
  deliverSpan,
  failSpan,
  noteAttempt,
  SPAN,
  spanLogFields,
  withSpan,
} from '../telemetry/spans.js';
import { tracer } from '../telemetry/tracing.js';
import { UNHEALTHY_WEIGHT, type TenantPriority } from './tenant-priority.js';

/** How long a held delivery sleeps before it looks again (resume wakes it at once). */
export const HOLD_MS = 5 * 60_000;

/**
 * Least delay of a direct attempt's retry job. Its job is queued before the attempt's record is
 * written; a job run at once elsewhere (Retry-After: 0) could record attempt 2 before attempt 1.
 */
export const DIRECT_RETRY_MIN_DELAY_MS = 1_000;

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
 * `park: false` (rate limits, in-flight caps: src/pipeline/parked.ts) only delays it.
 */
export type HoldDecision = number | { ms: number; park: boolean };

/** Extension points for the breaker, rate limiter, in-flight cap and metrics. */
export interface DeliveryHooks {
  beforeAttempt?(sub: Subscription, delivery: DeliveryRef): Promise<HoldDecision>;
  afterAttempt?(report: AttemptReport): Promise<void> | void;
  /** Once at the end of every run, whatever its verdict, also when it threw (must not throw). */
  afterRun?(delivery: DeliveryRef): void;
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
  /** The deliveries queue: direct attempts' and watch jobs' follow-up jobs are queued on it. */
  queue: Queue<DeliveryJobData>;
  /** Reports disables and exhausted deliveries (src/pipeline/ops-events.ts). */
  ops: OpsEvents;
  /** OPS_WEBHOOK_URL as a destination; absent when it is not set. */
  opsTarget?: Subscription;
  /** Counts deliveries ended `superseded` (metrics). */
  onSuperseded: (count: number) => void;
  /** Fair turns to send across subscriptions (src/pipeline/send-turns.ts); absent: send at once. */
  sendTurns?: (subscriptionId: string) => Promise<void>;
  /** Lighter tenants first (src/pipeline/tenant-priority.ts): a heavy tenant's run waits its turn. */
  priority?: TenantPriority;
}

/** One run of a delivery: attempt `attemptNo` of `maxAttempts`, unless it ends or is held first. */
export interface DeliveryRun {
  delivery: DeliveryRef;
  event: HooklineEvent;
  attemptNo: number;
  maxAttempts: number;
  /** The delivery job running it (and its lock token); absent for a fan-out's direct attempt. */
  job?: { job: Job<DeliveryJobData>; token?: string };
  /** The fan-out that created the record compared it with its message's status mark already. */
  staleChecked?: boolean;
  /** Its `hookline.deliver` span while tracing is on (runDelivery sets it). */
  span?: Span;
  /** With tracing on, a direct attempt's fan-out span (else the parent is `p` of its data). */
  parent?: Context;
}

/** An attempt made and not yet recorded: its destination, its outcome, its status-mark field. */
export interface Made {
  sub: Subscription;
  outcome: AttemptOutcome;
  field: string;
}

/** What one run of a delivery came to; commit writes it and carries it out. */
export type Verdict =
  /** Its destination is gone (deleted subscription, no ops URL any more). */
  | { kind: 'cancelled' }
  /** A later status of its message was delivered to its destination (`by`): not sent, recorded. */
  | { kind: 'superseded'; by: string }
  /**
   * Paused, disabled (`untilResume`), breaker open, rate-limited: no attempt spent (see
   * HoldDecision).
   */
  | { kind: 'hold'; ms: number; park: boolean; untilResume?: boolean }
  | { kind: 'succeeded'; made: Made }
  /** `early`: given up before the last allowed attempt (not retryable). */
  | { kind: 'failed'; made: Made; message: string; early: boolean }
  | { kind: 'retry'; made: Made; message: string; delayMs: number };

/** Thrown to BullMQ for a retry: the backoff strategy (src/pipeline/jobs.ts) uses the delay recorded. */
export class RetryLater extends Error implements DelayCarrier {
  constructor(
    message: string,
    readonly retryDelayMs: number,
  ) {
    super(message);
    this.name = 'RetryLater';
  }
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
 * Decides one run: cancelled when its destination is gone, superseded when its status is stale,
 * held when the subscription is paused or disabled or a hook says so, else the outcome of
 * attempt `attemptNo`. Records nothing but a superseded delivery.
 */
export async function decide(deps: DeliveryDeps, run: DeliveryRun): Promise<Verdict> {
  const prio = deps.priority;
  if (!prio) return decideSteps(deps, run);
  // The run's step lasts up to its verdict: its hooks, its request and the answer.
  const tenant = run.event.tenantId;
  prio.begin(tenant, 1);
  try {
    const wait = prio.turn(tenant);
    if (wait) await wait;
    const v = await decideSteps(deps, run);
    // A run that delivers nothing (held, to be retried, failed) weighs more on its tenant's load.
    if (v.kind === 'hold' || v.kind === 'retry' || v.kind === 'failed') prio.charge(tenant, UNHEALTHY_WEIGHT);
    return v;
  } finally {
    prio.end(tenant);
  }
}

async function decideSteps(deps: DeliveryDeps, run: DeliveryRun): Promise<Verdict> {
  const { delivery, event, attemptNo, maxAttempts } = run;
  const { id, data } = delivery;
  let sub = await resolveTarget(deps, data.s, event);
  // Paused or disabled in this process's cache: a resume elsewhere may have changed that a moment
  // ago (its invalidation is still on its way). One read past the cache before holding; an active
  // subscription's run reads nothing more.
  if (sub && !sub.deletedAt && sub.status !== 'active' && isSubscriptionTarget(data.s))
    sub = await readPastCache(deps, sub);
  if (!sub || sub.deletedAt) return { kind: 'cancelled' };
  // Compared before the hold and the hooks: a stale status held by a paused subscription or an
  // open breaker ends when it wakes, and takes no probe or rate-limit slot. One command, only for
  // statuses a later one can supersede.
  const field = markField(event, data.s, sub.dropStaleStatuses);
  const rank = field ? staleRank(event.type) : undefined;
  if (rank !== undefined && !run.staleChecked) {
    const by = await deps.deliveries.supersedeIfStale(id, event, field, rank);
    if (by) return { kind: 'superseded', by };
  }
  if (sub.status !== 'active') return { kind: 'hold', ms: HOLD_MS, park: true, untilResume: true };
  for (const h of deps.hooks) {
    const d = (await h.beforeAttempt?.(sub, delivery)) ?? 0;
    const ms = typeof d === 'number' ? d : d.ms;
    if (ms > 0) return { kind: 'hold', ms, park: typeof d === 'number' || d.park };
  }

  if (deps.sendTurns) await deps.sendTurns(data.s);
  // Only a token fetch (its span) and a traceparent header read the active span: the run's span
  // is made active for those alone, as activating it costs on every run.
  const outcome =
    run.span && (sub.authType === 'oauth2' || sub.sendTraceparent)
      ? await withSpan(run.span, () => attempt(deps.attempt, sub, event))
      : await attempt(deps.attempt, sub, event);
  const made = { sub, outcome, field };
  if (outcome.ok) return { kind: 'succeeded', made };
  const err = outcome.error!;
  const message = `${err.code}: ${err.message}`;
  if (!err.retryable || attemptNo >= maxAttempts)
    return { kind: 'failed', made, message, early: attemptNo < maxAttempts };
  const delayMs =
    outcome.retryAfterMs !== undefined
      ? retryAfterDelay(outcome.retryAfterMs, deps.backoff)
      : retryDelay(attemptNo, deps.backoff);
  return { kind: 'retry', made, message, delayMs };
}

/**
 * Writes a verdict and carries it out. For a delivery job: returns (the job completes), or throws
 * what makes BullMQ delay, retry or fail it. For a direct attempt: queues the job its outcome
 * needs (retry, hold, the failed list), each before the write that could point at it.
 */
export async function commit(deps: DeliveryDeps, run: DeliveryRun, v: Verdict): Promise<Verdict['kind']> {
  const { id, data } = run.delivery;
  const ttl = deps.deliveries.ttlSeconds;
  switch (v.kind) {
    case 'cancelled':
      await deps.deliveries.setStatus(id, 'cancelled');
      return v.kind;
    case 'superseded':
      deps.onSuperseded(1);
      deps.logger.info(
        { eventId: run.event.id, deliveryId: id, subscriptionId: data.s, supersededBy: v.by },
        'delivery superseded',
      );
      return v.kind;
    case 'hold':
      if (run.job) {
        await prepareHold(deps, id, data, v.ms, v.park);
        await run.job.job.moveToDelayed(Date.now() + v.ms, run.job.token);
        if (v.untilResume) await releaseIfResumed(deps, id, data.s);
        throw new DelayedError();
      }
      // No attempt spent: this run's attempt is still to make, by a job that sleeps out the hold.
      await queueFrom(deps, data, run.attemptNo - 1, run.maxAttempts - run.attemptNo, v.ms);
      await prepareHold(deps, id, data, v.ms, v.park);
      if (v.untilResume) await releaseIfResumed(deps, id, data.s);
      return v.kind;
    case 'retry':
      // The job that runs it again exists before the record says `retrying`: a record never
      // waits for a job that is not there.
      if (!run.job)
        await queueFrom(
          deps,
          data,
          run.attemptNo,
          run.maxAttempts - run.attemptNo - 1,
          Math.max(v.delayMs, DIRECT_RETRY_MIN_DELAY_MS),
        );
      await record(deps, run, v);
      if (run.job) throw new RetryLater(v.message, v.delayMs);
      return v.kind;
    case 'failed':
      await record(deps, run, v);
      if (run.job) throw v.early ? new UnrecoverableError(v.message) : new Error(v.message);
      // Shown in Bull Board's failed list, as a delivery failed by its job is. The record already
      // says `failed`: a lost job costs the list entry only. Its own failed run counts as
      // attempt 1, so a retry from the board is recorded as attempt 2.
      await deps.queue
        .add(JOB.failed, { ...deliveryOf(data), f: v.message }, deliveryJobOptions(id, 0, ttl))
        .catch((err: unknown) =>
          deps.logger.warn({ err, deliveryId: id }, 'failed delivery not shown on the board'),
        );
      return v.kind;
    case 'succeeded':
      await record(deps, run, v);
      return v.kind;
  }
}

/** decide, then commit: one run of a delivery (inside its span while tracing is on). */
export async function runDelivery(deps: DeliveryDeps, run: DeliveryRun): Promise<Verdict['kind']> {
  const span = tracer ? runSpan(run) : undefined;
  let v: Verdict | undefined;
  // Its tenant's load counts the run while it lasts (a slow subscriber's weigh long).
  deps.priority?.started(run.event.tenantId);
  try {
    if (!span) return await commit(deps, run, await decide(deps, run));
    const traced = { ...run, span };
    v = await decide(deps, traced);
    traceVerdict(span, v);
    return await commit(deps, traced, v);
  } catch (err) {
    // A verdict's own throws (RetryLater, DelayedError, the failure) are on the span already.
    if (span && !v) failSpan(span, err);
    throw err;
  } finally {
    span?.end();
    deps.priority?.stopped(run.event.tenantId);
    for (const h of deps.hooks) h.afterRun?.(run.delivery);
  }
}

/** The span of one run: under its event's fan-out span, whose traceparent its job data carries. */
const runSpan = ({ delivery, event, attemptNo, parent }: DeliveryRun): Span =>
  deliverSpan(parent ?? delivery.data.p, {
    id: event.id,
    type: event.type,
    subscriptionId: delivery.data.s,
    attempt: attemptNo,
  });

/** A run's verdict on its span: the attempt's outcome, the retry or hold decided. */
function traceVerdict(span: Span, v: Verdict): void {
  span.setAttribute(ATTR.outcome, v.kind);
  if (v.kind === 'hold') {
    // No attempt was made: the span is the hold decision's.
    span.updateName(SPAN.hold);
    span.addEvent(DECISION.hold, { 'hookline.hold.ms': v.ms, 'hookline.hold.parked': v.park });
    return;
  }
  if (v.kind === 'cancelled' || v.kind === 'superseded') {
    span.updateName(`hookline.${v.kind}`);
    return;
  }
  const { sub, outcome } = v.made;
  noteAttempt(span, {
    url: sub.webhookUrl,
    statusCode: outcome.statusCode,
    errorCode: outcome.error?.code,
    errorMessage: outcome.error?.message,
  });
  if (v.kind === 'retry') span.addEvent(DECISION.retry, { 'hookline.retry.delay_ms': v.delayMs });
}

/** A job for a delivery `made` attempts into it, with `retriesLeft` retries after its first run. */
async function queueFrom(
  deps: Pick<DeliveryDeps, 'deliveries' | 'queue'>,
  data: DeliveryJobData,
  made: number,
  retriesLeft: number,
  delay?: number,
): Promise<void> {
  const job = deliveryOf(data);
  if (made > 0) job.a = made;
  const opts = deliveryJobOptions(data.d, retriesLeft, deps.deliveries.ttlSeconds);
  if (delay !== undefined) opts.delay = delay;
  await deps.queue.add(made > 0 ? JOB.retry : JOB.deliver, job, opts);
}

/** Records an attempt, logs it, reports it to the hooks, and what follows from it (410, exhausted). */
async function record(
  deps: DeliveryDeps,
  run: DeliveryRun,
  v: Extract<Verdict, { made: Made }>,
): Promise<void> {
  const { delivery, event, attemptNo } = run;
  const { id, data } = delivery;
  const { sub, outcome, field } = v.made;
  const err = outcome.error;
  const status: DeliveryStatus = v.kind === 'retry' ? 'retrying' : v.kind;
  const attemptRecord: Attempt = {
    n: attemptNo,
    startedAt: new Date(outcome.startedAt).toISOString(),
    durationMs: outcome.durationMs,
    statusCode: outcome.statusCode,
    error: err ? { code: err.code, message: err.message } : null,
    responseHeaders: outcome.responseHeaders,
    responseBody: outcome.responseBody,
  };
  const level = v.kind === 'succeeded' && field ? supersedeLevel(event.type) : undefined;
  await deps.deliveries.recordAttempt(
    id,
    eventRefOf(data),
    attemptRecord,
    status,
    v.kind === 'retry' ? Date.now() + v.delayMs : null,
    level === undefined ? undefined : { tenantId: event.tenantId, messageId: event.messageId!, field, level },
  );
  deps.logger.info(
    {
      ...(run.span && spanLogFields(run.span)),
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
    if (previous && next && reports) await deps.ops.subscriptionDisabled(previous, 'gone', next.updatedAt);
  }
  if (v.kind === 'failed' && !v.early && reports)
    await deps.ops.deliveryExhausted(event.tenantId, {
      deliveryId: id,
      eventId: event.id,
      subscriptionId: data.s,
      attempts: attemptNo,
      lastError: { code: err!.code, message: err!.message, statusCode: outcome.statusCode },
    });
}

/** The subscription as stored; the cached copy is dropped when it differs. */
async function readPastCache(deps: DeliveryDeps, cached: Subscription): Promise<Subscription | undefined> {
  const sub = await deps.subscriptionStore.get(cached.id);
  if (sub?.updatedAt !== cached.updatedAt) deps.subscriptions.invalidate(cached.tenantId, cached.id);
  return sub;
}

/**
 * Resume sets the status, then releases the held set: a delivery held on a status read before
 * the resume, and parked after its release, would sleep the whole hold. Read once more now that
 * it is parked (delayed and in the set): if the subscription is active again, release it here.
 */
async function releaseIfResumed(deps: DeliveryDeps, id: string, subscriptionId: string): Promise<void> {
  const sub = await deps.subscriptionStore.get(subscriptionId);
  if (!sub || sub.deletedAt || sub.status !== 'active') return;
  deps.subscriptions.invalidate(sub.tenantId, sub.id);
  // Resume may have promoted it already (or it runs again elsewhere): then nothing is released.
  const held = { redis: deps.redis, keys: deps.keys, deliveriesQueue: deps.queue };
  await releaseHeldIds(held, subscriptionId, [id]);
}

/** A held delivery's record and event outlive the hold; a parked one joins the held set. */
async function prepareHold(deps: DeliveryDeps, id: string, data: DeliveryJobData, ms: number, park: boolean) {
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

/** The delivery worker's processor: one run of a delivery job, as its role says. */
export async function processDelivery(
  deps: DeliveryDeps,
  job: Job<DeliveryJobData>,
  token?: string,
): Promise<Verdict['kind'] | DeliveryStatus> {
  const data = job.data;
  const role = roleOf(job.name, data);
  if (role === JOB.watch) return watch(deps, data);
  if (role === JOB.failed && data.f !== undefined) {
    // Shows a direct attempt's final failure in the failed list; a retry from there runs for real.
    const { f, ...rest } = data;
    await job.updateData(rest);
    throw new UnrecoverableError(f);
  }
  const id = data.d;
  if (deps.deliveries.logEnded && (await deps.deliveries.getStatus(id)) === undefined) {
    // Ended and moved to PostgreSQL (a failed job retried from Bull Board): attempting it again
    // would write a record beside the one there. A re-drive is the way: a new attempt series.
    deps.logger.warn(
      { deliveryId: id },
      'delivery not run: its record has moved to the history; re-drive it with POST /v1/deliveries/:id/retry',
    );
    return 'cancelled';
  }
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
  // A `retry` job continues after the attempts made before it; so does a job queued before roles.
  const before = data.a ?? 0;
  return runDelivery(deps, {
    delivery: { id, data },
    event,
    attemptNo: before + job.attemptsMade + 1,
    maxAttempts: before + (job.opts.attempts ?? 1),
    job: { job, token },
  });
}

/**
 * Queues a delivery job for what a delivery's record says is left of it: nothing when it is final
 * or gone, else the attempts not yet made (a `retry` job after those made). BullMQ ignores the add
 * while a job with its id exists (a retry or hold queued earlier). Answers the status it found
 * and whether it queued.
 */
export async function requeueUnfinished(
  deps: Pick<DeliveryDeps, 'deliveries' | 'queue'>,
  data: DeliveryJobData,
  maxRetries: number,
): Promise<{ status: DeliveryStatus; queued: boolean }> {
  const progress = await deps.deliveries.progress(data.d);
  const status = progress.status ?? 'cancelled';
  const attempts = progress.attempts;
  if ((status !== 'pending' && status !== 'retrying') || attempts > maxRetries)
    return { status, queued: false };
  await queueFrom(deps, data, attempts, maxRetries - attempts);
  return { status, queued: true };
}

/** A watch job's run: queues a direct delivery whose attempt was never recorded (its process died). */
async function watch(deps: DeliveryDeps, data: DeliveryJobData): Promise<DeliveryStatus> {
  const { status, queued } = await requeueUnfinished(deps, data, data.m ?? data.w!.maxRetries);
  if (queued) deps.logger.warn({ deliveryId: data.d }, 'direct attempt not recorded: delivery queued again');
  return status;
}
