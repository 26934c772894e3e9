// Delivery records (SPEC §4): a hash per delivery (its attempts inside), indexed per subscription
// (chunks of small sorted sets) and per event (fields of the stored event's hash). A fan-out is
// one scripted command, and attempts that finish together are written by one command.
// Event ids are per tenant: an event is stored under its tenant and id. Events stored before 0.4
// (under their id alone) are still read, by the jobs that name them and by their tenant.
// This module puts the store together from its parts:
//   delivery-fanout.ts    events and pending records written by a fan-out (batched per command)
//   delivery-attempts.ts  attempts, statuses, status marks, keep-alive
//   delivery-records.ts   reading records
//   delivery-scan.ts      paging the per-subscription indexes (delivery-index.ts: reading one)
//   event-storage.ts      reading stored events (legacy-events.ts: the layouts of older versions)
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/client.js';
import { createDeliveryAttempts } from './delivery-attempts.js';
import { createDeliveryFanout } from './delivery-fanout.js';
import { createDeliveryRecords } from './delivery-records.js';
import { createDeliveryScan } from './delivery-scan.js';
import { createEventStorage } from './event-storage.js';
import type { RecentHistory } from './history/recent.js';

// The record's shape is the domain's (one schema for the store and every API answer).
export { FINAL_STATUSES } from '../domain/delivery-record.js';
export type { Attempt, DeliveryRecord, DeliveryStatus } from '../domain/delivery-record.js';
export { DELIVERY_STATUSES } from '../domain/delivery-record.js';
export type {
  EventRef,
  NewDelivery,
  PendingBatchItem,
  PendingStatuses,
  ScanOptions,
  StatusMark,
} from './delivery-types.js';
export { PENDING_SLICE } from './delivery-fanout.js';
export { execAll } from '../redis/exec-all.js';

export interface DeliveryStoreOptions {
  /** With the PostgreSQL history: ended records are named in the history outbox for the writer. */
  logEnded?: boolean;
  /** With logEnded: this process's cache of what it just stored and ended (./history/recent.ts). */
  recent?: RecentHistory;
}

export function createDeliveryStore(
  redis: Redis,
  keys: Keys,
  ttlSeconds: number,
  opts: DeliveryStoreOptions = {},
) {
  const ctx = { redis, keys, ttlSeconds, logEnded: opts.logEnded ?? false, recent: opts.recent };
  const records = createDeliveryRecords(ctx);
  return {
    ttlSeconds,
    logEnded: ctx.logEnded,
    ...createDeliveryFanout(ctx),
    ...createDeliveryAttempts(ctx),
    ...createEventStorage(ctx),
    ...records,
    ...createDeliveryScan(ctx, records.getMany),
  };
}

export type DeliveryStore = ReturnType<typeof createDeliveryStore>;
