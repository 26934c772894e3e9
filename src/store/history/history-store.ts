// What happened to events and deliveries, behind one narrow interface: PostgreSQL when
// DATABASE_URL is set, Redis otherwise. Lists are newest first, paged by an opaque cursor.
import { HooklineError, validationError } from '../../domain/errors.js';
import type { HooklineEvent } from '../../domain/event.js';
import type { DeliveryRecord, DeliveryStatus } from '../delivery-store.js';

/** A delivery as the history stores it: the record plus its event's type (a filter of the lists). */
export type HistoryDelivery = DeliveryRecord & { eventType: string };

export interface HistoryBatch {
  /** Events are immutable: a second write of one (same tenant, id and acceptedAt) changes nothing. */
  events?: HooklineEvent[];
  /**
   * Whole records. A second write of one (same id and createdAt) keeps the fields of the record
   * with the later `updatedAt` (the second write on a tie) and the attempts of both, once per
   * attempt number (the later record's version where both have it); `redrivenTo` once set stays.
   */
  deliveries?: HistoryDelivery[];
}

export interface DeliveryFilters {
  subscriptionId?: string;
  eventId?: string;
  messageId?: string;
  eventType?: string;
  status?: DeliveryStatus;
  /** Creation time window, epoch ms, both ends inclusive. */
  since?: number;
  until?: number;
}

export interface EventFilters {
  messageId?: string;
  type?: string;
  /** Acceptance time window, epoch ms, both ends inclusive. */
  since?: number;
  until?: number;
}

export type DeliveryFilter = keyof DeliveryFilters;
export type EventFilter = keyof EventFilters;

/** Page size bound of every list (SPEC §4: limit ≤ 250). */
export const MAX_LIST_LIMIT = 250;

interface ListQuery {
  tenantId: string;
  /** 1 to MAX_LIST_LIMIT. */
  limit: number;
  /** Where the previous page ended (opaque, from `nextCursor`). */
  cursor?: string;
}

export interface DeliveryQuery extends DeliveryFilters, ListQuery {
  /** Default true; false leaves `attempts` empty (for scans that only need statuses). */
  withAttempts?: boolean;
}

export interface EventQuery extends EventFilters, ListQuery {}

export interface Page<T> {
  data: T[];
  /** null on the last page. */
  nextCursor: string | null;
}

export interface EventHistory {
  event: HooklineEvent;
  /** Its deliveries, oldest first (re-drives after the delivery they re-drive). */
  deliveries: DeliveryRecord[];
}

export interface HistoryStore {
  /** The filters each list serves; a route answers 400 `unsupported_filter` for any other one. */
  readonly filters: { deliveries: ReadonlySet<DeliveryFilter>; events: ReadonlySet<EventFilter> };
  write(batch: HistoryBatch): Promise<void>;
  /** A delivery by id; with `tenantId`, only that tenant's. */
  getDelivery(id: string, tenantId?: string): Promise<DeliveryRecord | undefined>;
  listDeliveries(query: DeliveryQuery): Promise<Page<DeliveryRecord>>;
  /** An event (event ids are per tenant) and its deliveries. */
  getEvent(tenantId: string, eventId: string): Promise<EventHistory | undefined>;
  listEvents(query: EventQuery): Promise<Page<HooklineEvent>>;
  /** Links a delivery to the one that re-drives it, unless it has one already (as HSETNX). */
  markRedriven(id: string, successorId: string): Promise<boolean>;
}

/**
 * The list order is (creation time, id), both descending; a cursor is the last item's pair, the
 * format of the Redis store's cursors (`ms|id`, base64url).
 */
export interface CursorPosition {
  ms: number;
  id: string;
}

export const encodeCursor = (p: CursorPosition): string =>
  Buffer.from(`${p.ms}|${p.id}`).toString('base64url');

/** The position a cursor names; a cursor this listing did not make is a validation_error. */
export function decodeCursor(cursor: string): CursorPosition {
  const m = /^(\d{1,15})\|(.+)$/s.exec(Buffer.from(cursor, 'base64url').toString());
  // Within years 1970-9999 and without NUL (neither store could take it: a 500, not a 400).
  if (!m || Number(m[1]) > 253_402_300_799_999 || m[2]!.includes('\u0000'))
    throw validationError([{ path: '/querystring/cursor', message: 'is not a cursor of this listing' }]);
  return { ms: Number(m[1]), id: m[2]! };
}

/** 400 unsupported_filter naming the filter, when the store in use cannot serve it. */
export function unsupportedFilter(filter: string, path: string): HooklineError {
  return new HooklineError(
    'unsupported_filter',
    `filtering by ${filter} needs the PostgreSQL history: set DATABASE_URL`,
    [{ path, message: `unsupported_filter: set DATABASE_URL to filter by ${filter}` }],
    { filter },
  );
}
