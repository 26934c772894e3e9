// Queue names and the job payloads that travel through them.
import type { HooklineEvent } from '../domain/event.js';

export const EVENTS_QUEUE = 'hookline-events';
export const DELIVERIES_QUEUE = 'hookline-deliveries';

export type EventJobData = HooklineEvent;

/** Compact on purpose: one of these is stored per queued delivery. */
export interface DeliveryJobData {
  /** delivery id */
  d: string;
  /** subscription id, or `report` for the event's own deliveryReport destination */
  s: string;
  /** the event (embedded so a delivery costs no extra Redis read) */
  e: HooklineEvent;
}
