// The shapes the delivery store's modules share (re-exported by delivery-store.ts).
import type { Redis } from 'ioredis';
import type { DeliveryStatus } from '../domain/delivery-record.js';
import type { HooklineEvent } from '../domain/event.js';
import type { Keys } from '../redis/client.js';
import type { RecentHistory } from './history/recent.js';

/** What each part of the delivery store is built from. */
export interface DeliveryStoreContext {
  redis: Redis;
  keys: Keys;
  /** Retention of records, attempts and events (DELIVERY_LOG_TTL_DAYS). */
  ttlSeconds: number;
  /**
   * True with the PostgreSQL history: the scripts that end a record name it in the history
   * outbox (keys.history()) in the same command, and the history writer moves it.
   */
  logEnded: boolean;
  /**
   * With the PostgreSQL history: where the fan-out leaves the events it stored and the attempts
   * the records they ended, for this process's history writer (./history/recent.ts).
   */
  recent?: RecentHistory;
}

/**
 * Where an event is stored: under its tenant and id, or, without a tenant, under its id alone
 * (events stored before 0.4, named by jobs queued before 0.4).
 */
export interface EventRef {
  tenantId?: string;
  id: string;
}

export interface NewDelivery {
  id: string;
  eventId: string;
  subscriptionId: string;
  tenantId: string;
  target?: string;
  series?: number;
  retryOf?: string;
  /** Its destination's field in the message's status mark; absent: stale statuses are kept. */
  markField?: string;
}

export interface ScanOptions {
  status?: DeliveryStatus;
  /** Creation-time window, epoch ms, inclusive. */
  since?: number;
  until?: number;
  limit: number;
  /** Where the previous page ended (opaque). */
  cursor?: string;
  /** Index entries examined at most per call: a filtered page may come back short, with a cursor. */
  budget?: number;
  withAttempts?: boolean;
}

/** One event and the deliveries a fan-out (or a re-drive) creates for it. */
export interface PendingBatchItem {
  event: HooklineEvent;
  deliveries: NewDelivery[];
}

/** Statuses after a fan-out's writes, in delivery order; `fresh` tells the records it created. */
export interface PendingStatuses {
  (replies: unknown[]): DeliveryStatus[];
  fresh(replies: unknown[]): boolean[];
  /** How many records this write created already `superseded`. */
  dropped(replies: unknown[]): number;
}

/** A succeeded status delivery's mark on its message (see delivery-attempts.ts). */
export interface StatusMark {
  tenantId: string;
  messageId: string;
  field: string;
  level: number;
}
