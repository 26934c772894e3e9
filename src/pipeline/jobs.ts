// Queue names, the jobs that travel through them (a delivery job's name is its role) and the
// retry strategy BullMQ runs.
import type { Context } from '@opentelemetry/api';
import { Queue, type BackoffStrategy, type JobsOptions } from 'bullmq';
import { retryDelay, type BackoffSettings, type DelayCarrier } from '../domain/backoff.js';
import type { HooklineEvent } from '../domain/event.js';
import type { Redis } from '../redis/client.js';
import type { EventRef } from '../store/delivery-store.js';

export const EVENTS_QUEUE = 'hookline-events';
export const DELIVERIES_QUEUE = 'hookline-deliveries';

/**
 * One job per publish call: the events it accepted (a lone event from older producers). With
 * tracing on, `tp` holds each event's traceparent (its publish span), in the order of `events`.
 */
export type EventJobData = { events: HooklineEvent[]; tp?: (string | undefined)[] } | HooklineEvent;

export const jobEvents = (data: EventJobData): HooklineEvent[] => ('events' in data ? data.events : [data]);

/** The traceparents of an events job's events (tracing was on where they were published). */
export const jobTraceparents = (data: EventJobData) => ('events' in data ? data.tp : undefined);

/**
 * A delivery job's name is its role:
 * - `deliver`: a delivery from its first attempt on (queued by a fan-out or a re-drive, or held
 *   before the first attempt its fan-out was about to make).
 * - `retry`: a delivery after the `a` attempts already made (by its fan-out's direct first
 *   attempt, or before its process died): its n-th run is attempt a + n.
 * - `watch` (id `<delivery>.w`): a direct first attempt was still under way when its fan-out
 *   finished. When it runs, a delivery still pending with no attempt recorded (its process died)
 *   is queued as a `deliver` job; anything else is left alone.
 * - `failed`: shows in Bull Board's failed list a delivery whose direct first attempt failed for
 *   good. Its first run fails at once with the message `f` (no attempt) and clears it; retried
 *   from the board, it makes a real attempt.
 *
 * Jobs queued by 0.3 and earlier 0.4 are named after their event type (watch jobs
 * `hookline.watch`), their role told by data flags; roleOf reads both.
 */
export const JOB = { deliver: 'deliver', retry: 'retry', watch: 'watch', failed: 'failed' } as const;
export type JobRole = (typeof JOB)[keyof typeof JOB];

const ROLES = new Set<string>(Object.values(JOB));

/** Compact on purpose: one of these is stored per queued delivery. */
export interface DeliveryJobData {
  /** delivery id */
  d: string;
  /** subscription id, `report` (the event's own deliveryReport destination) or `ops` */
  s: string;
  /**
   * the event's id: the worker reads the event from its stored copy, so a fan-out to many
   * subscriptions keeps one copy of it. Jobs queued before 0.2 embed the whole event.
   */
  e: string | HooklineEvent;
  /**
   * the event's tenant: event ids are per tenant, so `t` and `e` name its stored copy. Absent on
   * jobs queued before 0.4, whose event is stored under its id alone.
   */
  t?: string;
  /** Attempts made before this job (`retry`): its n-th run is attempt a + n. Absent means 0. */
  a?: number;
  /** `failed`: the message its first run fails with, cleared by that run. */
  f?: string;
  /** `watch`: the maxRetries of the delivery it watches. */
  m?: number;
  /** Watch jobs queued before roles (named `hookline.watch`): maxRetries and the event type. */
  w?: { maxRetries: number; name: string };
  /**
   * With tracing on: the traceparent of its event's fan-out span, under which each attempt's
   * span goes, however late and wherever it runs. Absent while tracing is off (no bytes spent).
   */
  p?: string;
}

/** A job's role: its name, or for a job queued before roles, its data flags. */
export function roleOf(name: string, data: DeliveryJobData): JobRole {
  if (ROLES.has(name)) return name as JobRole;
  if (data.w) return JOB.watch;
  if (data.f !== undefined) return JOB.failed;
  return data.a ? JOB.retry : JOB.deliver;
}

/** The id of a job's event (jobs queued before 0.2 embed the whole event). */
const eventIdOf = (data: DeliveryJobData): string => (typeof data.e === 'string' ? data.e : data.e.id);

/** Where a job's event is stored: under its tenant and id, or (jobs queued before 0.4) its id alone. */
export const eventRefOf = (data: DeliveryJobData): EventRef => ({ id: eventIdOf(data), tenantId: data.t });

/** A new delivery job's data: it names its event (tenant and id), read from its stored copy. */
export const jobData = (id: string, subscriptionId: string, event: HooklineEvent): DeliveryJobData => ({
  d: id,
  s: subscriptionId,
  e: event.id,
  t: event.tenantId,
});

/**
 * What names a delivery in its job's data: what a job queued again for it carries over. (The
 * event type is not in it: a queued delivery's job stays small, B4; Bull Board shows the event
 * id, and `GET /v1/events/:id` the rest.)
 */
export function deliveryOf({ d, s, e, t, p }: DeliveryJobData): DeliveryJobData {
  const data: DeliveryJobData = { d, s, e };
  if (t !== undefined) data.t = t;
  if (p !== undefined) data.p = p;
  return data;
}

/** The job that watches over a delivery's direct first attempt (role `watch`). */
export const watchJobId = (deliveryId: string) => `${deliveryId}.w`;

/** One delivery a fan-out attempts itself: its job's data, should it need one, and its event. */
export interface DirectItem {
  data: DeliveryJobData;
  event: HooklineEvent;
  maxRetries: number;
  /** Its subscription's own `maxInFlight` (absent: the default; report and ops targets: none). */
  maxInFlight?: number;
  /** With tracing on: its fan-out span, the parent `data.p` names, without parsing that again. */
  parent?: Context;
}

/** The events queue's type, for callers outside the pipeline (which do not import bullmq). */
export type EventsQueue = Queue<EventJobData>;

/** The two queues a process produces into, on one connection. */
export function createQueues(connection: Redis, prefix: string) {
  return {
    events: new Queue<EventJobData>(EVENTS_QUEUE, { connection, prefix }),
    deliveries: new Queue<DeliveryJobData>(DELIVERIES_QUEUE, { connection, prefix }),
  };
}

/** BullMQ backoff type of every delivery job (SPEC §5 delays, src/domain/backoff.ts). */
export const BACKOFF_TYPE = 'hookline';

/** A delivery job's options: its id is the delivery's (deduplicated), `maxRetries` retries left. */
export function deliveryJobOptions(id: string, maxRetries: number, ttlSeconds: number): JobsOptions {
  return {
    jobId: id,
    attempts: maxRetries + 1,
    backoff: { type: BACKOFF_TYPE },
    removeOnComplete: true,
    removeOnFail: { age: ttlSeconds, count: 100_000 },
  };
}

/** Errors thrown by the runner carry the delay they computed (and recorded); else the formula. */
export function backoffStrategy(s: BackoffSettings): BackoffStrategy {
  return (attemptsMade, _type, err) =>
    (err as DelayCarrier | undefined)?.retryDelayMs ?? retryDelay(attemptsMade, s);
}
