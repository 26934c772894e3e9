// Queue names and the job payloads that travel through them.
import type { HooklineEvent } from '../domain/event.js';

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
}
