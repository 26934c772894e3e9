// Queue names, the job payloads that travel through them and the retry strategy BullMQ runs.
import { Queue, type BackoffStrategy } from 'bullmq';
import { retryDelay, type BackoffSettings, type DelayCarrier } from '../domain/backoff.js';
import type { HooklineEvent } from '../domain/event.js';
import type { Redis } from '../redis/client.js';
import type { EventRef } from '../store/delivery-store.js';

export const EVENTS_QUEUE = 'hookline-events';
export const DELIVERIES_QUEUE = 'hookline-deliveries';

/** One job per publish call: the events it accepted (a lone event from older producers). */
export type EventJobData = { events: HooklineEvent[] } | HooklineEvent;

export const jobEvents = (data: EventJobData): HooklineEvent[] => ('events' in data ? data.events : [data]);

/** Compact on purpose: one of these is stored per queued delivery. */
export interface DeliveryJobData {
  /** delivery id */
  d: string;
  /** subscription id, or `report` for the event's own deliveryReport destination */
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
  /**
   * Attempts made before this job (by the fan-out that tried the delivery first, see
   * src/delivery/direct.ts): this job's n-th run is attempt a + n. Absent means 0.
   */
  a?: number;
  /**
   * Set on the job that shows a delivery whose first, direct attempt failed for good: its first
   * run fails at once with this message (no attempt) and clears it, so a retry from Bull Board
   * makes a real attempt.
   */
  f?: string;
  /**
   * A watch job (id `<delivery>.w`): a direct attempt was still under way when its fan-out
   * finished. When it runs, a delivery still pending with no attempt recorded (its process
   * died) is queued as an ordinary job; anything else is left alone.
   */
  w?: { maxRetries: number; name: string };
}

/** The id of a job's event (jobs queued before 0.2 embed the whole event). */
export const eventIdOf = (data: DeliveryJobData): string => (typeof data.e === 'string' ? data.e : data.e.id);

/** Where a job's event is stored: under its tenant and id, or (jobs queued before 0.4) its id alone. */
export const eventRefOf = (data: DeliveryJobData): EventRef => ({ id: eventIdOf(data), tenantId: data.t });

/** What names a delivery in its job's data: what a job queued again for it carries over. */
export const deliveryOf = ({ d, s, e, t }: DeliveryJobData): DeliveryJobData =>
  t === undefined ? { d, s, e } : { d, s, e, t };

/** The job that watches over a delivery's direct first attempt (see DeliveryJobData.w). */
export const watchJobId = (deliveryId: string) => `${deliveryId}.w`;
export const WATCH_JOB = 'hookline.watch';

/** The two queues a process produces into, on one connection. */
export function createQueues(connection: Redis, prefix: string) {
  return {
    events: new Queue<EventJobData>(EVENTS_QUEUE, { connection, prefix }),
    deliveries: new Queue<DeliveryJobData>(DELIVERIES_QUEUE, { connection, prefix }),
  };
}

/** BullMQ backoff type of every delivery job (SPEC §5 delays, src/domain/backoff.ts). */
export const BACKOFF_TYPE = 'hookline';

/** Errors thrown by the runner carry the delay they computed (and recorded); else the formula. */
export function backoffStrategy(s: BackoffSettings): BackoffStrategy {
  return (attemptsMade, _type, err) =>
    (err as DelayCarrier | undefined)?.retryDelayMs ?? retryDelay(attemptsMade, s);
}
