// The history in PostgreSQL (migrations/0001_history.sql): a batch is one statement (events and
// deliveries as unnest arrays, upserted); lists walk an index newest first and page on
// (created_at, id). The SQL itself is in pg-queries.ts.
import type { Pool } from 'pg';
import type { HooklineEvent } from '../../domain/event.js';
import type { DeliveryRecord } from '../delivery-store.js';
import {
  deliveryToRow,
  eventToRow,
  mergeDeliveries,
  rowToDelivery,
  rowToEvent,
  type DeliveryRow,
  type EventRow,
} from './codec.js';
import {
  decodeCursor,
  encodeCursor,
  type DeliveryFilter,
  type EventFilter,
  type HistoryBatch,
  type HistoryDelivery,
  type HistoryStore,
  type Page,
} from './history-store.js';
import { createNameKeys, type NameKind } from './pg-names.js';
import {
  deliveryByIdSql,
  deliveryListSql,
  eventByIdSql,
  eventDeliveriesSql,
  eventListSql,
  limitOf,
  WRITE,
  type KeyedDeliveryQuery,
  type KeyedEventQuery,
} from './pg-queries.js';
import { dayOf, ensurePartitions, firstKeptDay } from './partitions.js';
import { intArray, textArray } from './pg-array.js';

export interface PgHistoryStoreOptions {
  /** Days a record is kept (DELIVERY_LOG_TTL_DAYS): older records are not written. */
  retentionDays: number;
}

/** The first `limit` rows as a page; the extra row fetched tells whether there is a next one. */
function page<R extends { created_at: Date; id: string }, T>(
  rows: R[],
  limit: number,
  map: (r: R) => T,
): Page<T> {
  const n = limitOf(limit);
  const data = rows.slice(0, n);
  const last = data.at(-1);
  return {
    data: data.map(map),
    nextCursor: rows.length > n && last ? encodeCursor({ ms: last.created_at.getTime(), id: last.id }) : null,
  };
}

type DeliveryResultRow = Parameters<typeof rowToDelivery>[0];
type EventResultRow = Parameters<typeof rowToEvent>[0];

const ALL_DELIVERY_FILTERS: DeliveryFilter[] = [
  'subscriptionId',
  'eventId',
  'messageId',
  'eventType',
  'status',
  'since',
  'until',
];
const ALL_EVENT_FILTERS: EventFilter[] = ['messageId', 'type', 'since', 'until'];

/** One record per event (the first) and per delivery (writes merged), as the upsert needs. */
function distinct(batch: HistoryBatch) {
  const events = new Map<string, HooklineEvent>();
  for (const e of batch.events ?? []) {
    const k = `${e.tenantId}\n${e.id}\n${e.acceptedAt}`;
    if (!events.has(k)) events.set(k, e);
  }
  const deliveries = new Map<string, HistoryDelivery>();
  for (const d of batch.deliveries ?? []) {
    const k = `${d.id}\n${Date.parse(d.createdAt)}`;
    const seen = deliveries.get(k);
    deliveries.set(k, seen ? mergeDeliveries(seen, d) : d);
  }
  return { events: [...events.values()], deliveries: [...deliveries.values()] };
}

/**
 * The parameters of WRITE: one array literal per column (./pg-array.ts), names as their keys.
 * A `"char"` status and the times go as text elements; PostgreSQL casts them.
 */
function writeValues(events: EventRow[], deliveries: DeliveryRow[], key: (k: NameKind, n: string) => number) {
  const ints = <R>(rows: R[], f: (r: R) => number) => intArray(rows.map(f));
  const texts = <R>(rows: R[], f: (r: R) => string | null) => textArray(rows.map(f));
  return [
    ints(events, (e) => key('t', e.tenantId)),
    ints(events, (e) => key('e', e.type)),
    texts(events, (e) => e.createdAt),
    texts(events, (e) => e.occurredAt),
    texts(events, (e) => e.id),
    texts(events, (e) => e.messageId),
    texts(events, (e) => e.body),
    ints(deliveries, (d) => key('t', d.tenantId)),
    ints(deliveries, (d) => key('s', d.subscriptionId)),
    ints(deliveries, (d) => key('e', d.eventType)),
    texts(deliveries, (d) => d.status),
    texts(deliveries, (d) => d.createdAt),
    texts(deliveries, (d) => d.updatedAt),
    texts(deliveries, (d) => d.id),
    texts(deliveries, (d) => d.eventId),
    texts(deliveries, (d) => d.redrivenTo),
    texts(deliveries, (d) => d.extra),
    texts(deliveries, (d) => d.attempts),
  ];
}

/**
 * Rows by tenant, then time (ISO strings of one form sort as their times): code-unit order, which
 * is all the index locality below needs (localeCompare costs a collation per comparison).
 */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byTenantThenTime = (
  a: { tenantId: string; createdAt: string },
  b: { tenantId: string; createdAt: string },
) => cmp(a.tenantId, b.tenantId) || cmp(a.createdAt, b.createdAt);

/** PostgreSQL's "no partition of relation … found for row". */
const isMissingPartition = (err: unknown) =>
  (err as { code?: string }).code === '23514' && /no partition/.test(String((err as Error).message));

/** PostgreSQL serves every filter of both lists. */
export const PG_HISTORY_FILTERS: HistoryStore['filters'] = {
  deliveries: new Set(ALL_DELIVERY_FILTERS),
  events: new Set(ALL_EVENT_FILTERS),
};

export function createPgHistoryStore(pool: Pool, opts: PgHistoryStoreOptions) {
  const names = createNameKeys(pool);
  /** Days whose partitions this process has seen exist (maintenance may seed it). */
  const knownDays = new Set<number>();

  async function ensureDays(days: Iterable<number>) {
    const missing = [...new Set(days)].filter((d) => !knownDays.has(d));
    if (missing.length === 0) return;
    await ensurePartitions(pool, missing);
    for (const d of missing) knownDays.add(d);
  }

  const store: HistoryStore & { knownDays: Set<number> } = {
    filters: PG_HISTORY_FILTERS,
    knownDays,

    async write(batch) {
      const first = firstKeptDay(Date.now(), opts.retentionDays);
      const { events, deliveries } = distinct(batch);
      // Rows ordered by tenant then time: each tenant's index entries arrive in ascending order
      // and PostgreSQL packs their pages full instead of splitting them in half.
      const eventRows = events
        .map(eventToRow)
        .filter((e) => dayOf(Date.parse(e.createdAt)) >= first)
        .sort(byTenantThenTime);
      const deliveryRows = deliveries
        .map(deliveryToRow)
        .filter((d) => dayOf(Date.parse(d.createdAt)) >= first)
        .sort(byTenantThenTime);
      if (eventRows.length === 0 && deliveryRows.length === 0) return;
      const key = await names.resolve([
        ...eventRows.flatMap((e): [NameKind, string][] => [
          ['t', e.tenantId],
          ['e', e.type],
        ]),
        ...deliveryRows.flatMap((d): [NameKind, string][] => [
          ['t', d.tenantId],
          ['s', d.subscriptionId],
          ['e', d.eventType],
        ]),
      ]);
      const days = [...eventRows, ...deliveryRows].map((r) => dayOf(Date.parse(r.createdAt)));
      await ensureDays(days);
      const query = { ...WRITE, values: writeValues(eventRows, deliveryRows, key) };
      try {
        await pool.query(query);
      } catch (err) {
        // Another process dropped or never made a partition this one thought was there.
        if (!isMissingPartition(err)) throw err;
        knownDays.clear();
        await ensureDays(days);
        await pool.query(query);
      }
    },

    async getDelivery(id, tenantId) {
      let tenantKey: number | undefined;
      if (tenantId !== undefined) {
        tenantKey = await names.lookup('t', tenantId);
        if (tenantKey === undefined) return undefined;
      }
      const { rows } = await pool.query<DeliveryResultRow>(deliveryByIdSql(id, tenantKey));
      return rows[0] ? rowToDelivery(rows[0]) : undefined;
    },

    async listDeliveries(q) {
      const empty: Page<DeliveryRecord> = { data: [], nextCursor: null };
      if (q.cursor) decodeCursor(q.cursor); // a bad cursor is a 400 even for a tenant with no history
      const tenantKey = await names.lookup('t', q.tenantId);
      if (tenantKey === undefined) return empty;
      const keyed: KeyedDeliveryQuery = { ...q, tenantKey };
      if (q.subscriptionId !== undefined) {
        keyed.subscriptionKey = await names.lookup('s', q.subscriptionId);
        if (keyed.subscriptionKey === undefined) return empty;
      }
      if (q.eventType !== undefined) {
        keyed.eventTypeKey = await names.lookup('e', q.eventType);
        if (keyed.eventTypeKey === undefined) return empty;
      }
      const { rows } = await pool.query<DeliveryResultRow>(deliveryListSql(keyed));
      return page(rows, q.limit, (r) => rowToDelivery(r, q.withAttempts ?? true));
    },

    async getEvent(tenantId, eventId) {
      const tenantKey = await names.lookup('t', tenantId);
      if (tenantKey === undefined) return undefined;
      const found = await pool.query<EventResultRow>(eventByIdSql(eventId, tenantKey));
      const row = found.rows[0];
      if (!row) return undefined;
      const { rows } = await pool.query<DeliveryResultRow>(
        eventDeliveriesSql(eventId, tenantKey, row.created_at),
      );
      return { event: rowToEvent(row), deliveries: rows.map((r) => rowToDelivery(r)) };
    },

    async listEvents(q) {
      if (q.cursor) decodeCursor(q.cursor);
      const tenantKey = await names.lookup('t', q.tenantId);
      if (tenantKey === undefined) return { data: [], nextCursor: null };
      const keyed: KeyedEventQuery = { ...q, tenantKey };
      if (q.type !== undefined) {
        keyed.typeKey = await names.lookup('e', q.type);
        if (keyed.typeKey === undefined) return { data: [], nextCursor: null };
      }
      const { rows } = await pool.query<EventResultRow>(eventListSql(keyed));
      return page(rows, q.limit, rowToEvent);
    },

    async markRedriven(id, successorId) {
      const { rowCount } = await pool.query(
        `UPDATE deliveries d SET redriven_to = $2
         WHERE hashtextextended(d.id, 0) = hashtextextended($1, 0) AND d.id = $1 AND d.redriven_to = ''
           AND d.created_at = (SELECT max(created_at) FROM deliveries l
                               WHERE hashtextextended(l.id, 0) = hashtextextended($1, 0) AND l.id = $1)`,
        [id, successorId],
      );
      return (rowCount ?? 0) > 0;
    },
  };
  return store;
}

export type PgHistoryStore = ReturnType<typeof createPgHistoryStore>;
