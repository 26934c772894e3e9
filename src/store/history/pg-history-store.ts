// The history in PostgreSQL (migrations/0001_history.sql): a batch is one statement (events and
// deliveries as unnest arrays, upserted); lists walk an index newest first and page on
// (created_at, id). The SQL of each list is built by an exported function, so a test can EXPLAIN it.
import type { Pool, QueryConfig } from 'pg';
import type { HooklineEvent } from '../../domain/event.js';
import type { DeliveryRecord } from '../delivery-store.js';
import {
  deliveryToRow,
  eventToRow,
  mergeDeliveries,
  rowToDelivery,
  rowToEvent,
  STATUS_CODE,
  type DeliveryRow,
  type EventRow,
} from './codec.js';
import {
  decodeCursor,
  encodeCursor,
  MAX_LIST_LIMIT,
  type DeliveryFilter,
  type DeliveryQuery,
  type EventFilter,
  type EventQuery,
  type HistoryBatch,
  type HistoryDelivery,
  type HistoryStore,
  type Page,
} from './history-store.js';
import { createNameKeys, type NameKind } from './pg-names.js';
import { dayOf, ensurePartitions, firstKeptDay } from './partitions.js';

export interface PgHistoryStoreOptions {
  /** Days a record is kept (DELIVERY_LOG_TTL_DAYS): older records are not written. */
  retentionDays: number;
}

const WRITE: Omit<QueryConfig, 'values'> = {
  name: 'hookline-history-write',
  text: `
WITH written_events AS (
  INSERT INTO events (tenant_key, type_key, created_at, occurred_at, id, message_id, body)
  SELECT * FROM unnest($1::int[], $2::int[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[],
    $7::text[])
  ON CONFLICT ((hashtextextended(id, tenant_key)), created_at) DO NOTHING
)
INSERT INTO deliveries AS d (tenant_key, subscription_key, event_type_key, status, created_at, updated_at, id,
  event_id, redriven_to, extra, attempts)
SELECT * FROM unnest($8::int[], $9::int[], $10::int[], $11::"char"[], $12::timestamptz[], $13::timestamptz[],
  $14::text[], $15::text[], $16::text[], $17::text[], $18::text[])
ON CONFLICT ((hashtextextended(id, 0)), created_at) DO UPDATE SET
  status = CASE WHEN excluded.updated_at >= d.updated_at THEN excluded.status ELSE d.status END,
  extra = CASE WHEN excluded.updated_at >= d.updated_at THEN excluded.extra ELSE d.extra END,
  attempts = CASE
    WHEN excluded.attempts = d.attempts THEN d.attempts
    WHEN excluded.updated_at >= d.updated_at THEN merge_attempts(excluded.attempts, d.attempts)
    ELSE merge_attempts(d.attempts, excluded.attempts) END,
  redriven_to = CASE WHEN d.redriven_to = '' THEN excluded.redriven_to ELSE d.redriven_to END,
  updated_at = greatest(excluded.updated_at, d.updated_at)
WHERE d.id = excluded.id`,
};

/** What a list statement needs once names are keys (undefined key: the name has no history). */
export interface KeyedDeliveryQuery extends Omit<DeliveryQuery, 'subscriptionId' | 'eventType'> {
  tenantKey: number;
  subscriptionKey?: number;
  eventTypeKey?: number;
}
export interface KeyedEventQuery extends Omit<EventQuery, 'type'> {
  tenantKey: number;
  typeKey?: number;
}

const DELIVERY_COLUMNS = (attempts: boolean) => `d.id, d.event_id, d.status, d.created_at, d.updated_at,
  d.redriven_to, d.extra, ${attempts ? 'd.attempts' : `'[]' AS attempts`},
  (SELECT name FROM names WHERE key = d.tenant_key) AS tenant_id,
  (SELECT name FROM names WHERE key = d.subscription_key) AS subscription_id`;
const EVENT_COLUMNS = `e.created_at, e.occurred_at, e.id, e.message_id, e.body,
  (SELECT name FROM names WHERE key = e.tenant_key) AS tenant_id,
  (SELECT name FROM names WHERE key = e.type_key) AS type`;

const iso = (ms: number) => new Date(ms).toISOString();
const limitOf = (limit: number) => Math.min(Math.max(Math.trunc(limit), 1), MAX_LIST_LIMIT);

/** Conditions shared by both lists: tenant, time window, cursor; `alias` is the table's. */
function listConditions(alias: string, q: KeyedDeliveryQuery | KeyedEventQuery, values: unknown[]) {
  const param = (v: unknown) => `$${values.push(v)}`;
  const where = [`${alias}.tenant_key = ${param(q.tenantKey)}`];
  if (q.since !== undefined) where.push(`${alias}.created_at >= ${param(iso(q.since))}`);
  if (q.until !== undefined) where.push(`${alias}.created_at <= ${param(iso(q.until))}`);
  if (q.cursor) {
    const at = decodeCursor(q.cursor);
    const ts = param(iso(at.ms));
    where.push(
      `${alias}.created_at <= ${ts}`,
      `(${alias}.created_at < ${ts} OR ${alias}.id < ${param(at.id)})`,
    );
  }
  return { where, param };
}

export function deliveryListSql(q: KeyedDeliveryQuery): QueryConfig {
  const values: unknown[] = [];
  const { where, param } = listConditions('d', q, values);
  const tenant = '$1::int';
  if (q.subscriptionKey !== undefined) where.push(`d.subscription_key = ${param(q.subscriptionKey)}`);
  if (q.eventTypeKey !== undefined) where.push(`d.event_type_key = ${param(q.eventTypeKey)}`);
  // A literal, so the planner sees that it implies the partial index's predicate.
  if (q.status) where.push(`d.status = '${STATUS_CODE[q.status]}'`);
  if (q.eventId !== undefined) {
    const id = param(q.eventId);
    where.push(`hashtextextended(d.event_id, d.tenant_key) = hashtextextended(${id}, ${tenant})`);
    where.push(`d.event_id = ${id}`);
  }
  // The message's events (a handful) first, once; then their deliveries by event id hash.
  let messageEvents = '';
  if (q.messageId !== undefined) {
    const m = `${param(q.messageId)}::text`;
    messageEvents = `WITH m AS MATERIALIZED (SELECT e.id, hashtextextended(e.id, e.tenant_key) AS h FROM events e
      WHERE hashtextextended(e.message_id, e.tenant_key) = hashtextextended(${m}, ${tenant})
        AND e.message_id = ${m} AND e.tenant_key = ${tenant}) `;
    where.push(`hashtextextended(d.event_id, d.tenant_key) = ANY (ARRAY(SELECT h FROM m))`);
    where.push(`d.event_id = ANY (ARRAY(SELECT id FROM m))`);
  }
  const limit = param(limitOf(q.limit) + 1);
  return {
    text: `${messageEvents}SELECT ${DELIVERY_COLUMNS(q.withAttempts ?? true)} FROM deliveries d WHERE ${where.join(' AND ')}
      ORDER BY d.created_at DESC, d.id DESC LIMIT ${limit}`,
    values,
  };
}

export function eventListSql(q: KeyedEventQuery): QueryConfig {
  const values: unknown[] = [];
  const { where, param } = listConditions('e', q, values);
  if (q.typeKey !== undefined) where.push(`e.type_key = ${param(q.typeKey)}`);
  if (q.messageId !== undefined) {
    const m = `${param(q.messageId)}::text`;
    where.push(`hashtextextended(e.message_id, e.tenant_key) = hashtextextended(${m}, $1::int)`);
    where.push(`e.message_id = ${m}`);
  }
  const limit = param(limitOf(q.limit) + 1);
  return {
    text: `SELECT ${EVENT_COLUMNS} FROM events e WHERE ${where.join(' AND ')}
      ORDER BY e.created_at DESC, e.id DESC LIMIT ${limit}`,
    values,
  };
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

/** PostgreSQL's "no partition of relation … found for row". */
const isMissingPartition = (err: unknown) =>
  (err as { code?: string }).code === '23514' && /no partition/.test(String((err as Error).message));

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

  function writeValues(
    events: EventRow[],
    deliveries: DeliveryRow[],
    key: (k: NameKind, n: string) => number,
  ) {
    const col = <R, V>(rows: R[], f: (r: R) => V) => rows.map(f);
    return [
      col(events, (e) => key('t', e.tenantId)),
      col(events, (e) => key('e', e.type)),
      col(events, (e) => e.createdAt),
      col(events, (e) => e.occurredAt),
      col(events, (e) => e.id),
      col(events, (e) => e.messageId),
      col(events, (e) => e.body),
      col(deliveries, (d) => key('t', d.tenantId)),
      col(deliveries, (d) => key('s', d.subscriptionId)),
      col(deliveries, (d) => key('e', d.eventType)),
      col(deliveries, (d) => d.status),
      col(deliveries, (d) => d.createdAt),
      col(deliveries, (d) => d.updatedAt),
      col(deliveries, (d) => d.id),
      col(deliveries, (d) => d.eventId),
      col(deliveries, (d) => d.redrivenTo),
      col(deliveries, (d) => d.extra),
      col(deliveries, (d) => d.attempts),
    ];
  }

  /** A name's key if it has any history (names are created by writes only). */
  async function keyOf(kind: NameKind, name: string): Promise<number | undefined> {
    return names.lookup(kind, name);
  }

  const store: HistoryStore & { knownDays: Set<number> } = {
    filters: { deliveries: new Set(ALL_DELIVERY_FILTERS), events: new Set(ALL_EVENT_FILTERS) },
    knownDays,

    async write(batch) {
      const first = firstKeptDay(Date.now(), opts.retentionDays);
      const { events, deliveries } = distinct(batch);
      // Rows ordered by tenant then time: each tenant's index entries arrive in ascending order
      // and PostgreSQL packs their pages full instead of splitting them in half.
      const eventRows = events
        .map(eventToRow)
        .filter((e) => dayOf(Date.parse(e.createdAt)) >= first)
        .sort((a, b) => a.tenantId.localeCompare(b.tenantId) || a.createdAt.localeCompare(b.createdAt));
      const deliveryRows = deliveries
        .map(deliveryToRow)
        .filter((d) => dayOf(Date.parse(d.createdAt)) >= first)
        .sort((a, b) => a.tenantId.localeCompare(b.tenantId) || a.createdAt.localeCompare(b.createdAt));
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
      const values: unknown[] = [id];
      let tenant = '';
      if (tenantId !== undefined) {
        const key = await keyOf('t', tenantId);
        if (key === undefined) return undefined;
        tenant = `AND d.tenant_key = $${values.push(key)}`;
      }
      const { rows } = await pool.query<DeliveryResultRow>(
        `SELECT ${DELIVERY_COLUMNS(true)} FROM deliveries d
         WHERE hashtextextended(d.id, 0) = hashtextextended($1, 0) AND d.id = $1 ${tenant}
         ORDER BY d.created_at DESC LIMIT 1`,
        values,
      );
      return rows[0] ? rowToDelivery(rows[0]) : undefined;
    },

    async listDeliveries(q) {
      const empty: Page<DeliveryRecord> = { data: [], nextCursor: null };
      if (q.cursor) decodeCursor(q.cursor); // a bad cursor is a 400 even for a tenant with no history
      const tenantKey = await keyOf('t', q.tenantId);
      if (tenantKey === undefined) return empty;
      const keyed: KeyedDeliveryQuery = { ...q, tenantKey };
      if (q.subscriptionId !== undefined) {
        keyed.subscriptionKey = await keyOf('s', q.subscriptionId);
        if (keyed.subscriptionKey === undefined) return empty;
      }
      if (q.eventType !== undefined) {
        keyed.eventTypeKey = await keyOf('e', q.eventType);
        if (keyed.eventTypeKey === undefined) return empty;
      }
      const { rows } = await pool.query<DeliveryResultRow>(deliveryListSql(keyed));
      return page(rows, q.limit, (r) => rowToDelivery(r, q.withAttempts ?? true));
    },

    async getEvent(tenantId, eventId) {
      const tenantKey = await keyOf('t', tenantId);
      if (tenantKey === undefined) return undefined;
      const match = (alias: string, column: string) =>
        `hashtextextended(${alias}.${column}, ${alias}.tenant_key) = hashtextextended($1, $2::int)
         AND ${alias}.${column} = $1 AND ${alias}.tenant_key = $2`;
      const found = await pool.query<EventResultRow>(
        `SELECT ${EVENT_COLUMNS} FROM events e WHERE ${match('e', 'id')} ORDER BY e.created_at DESC LIMIT 1`,
        [eventId, tenantKey],
      );
      const row = found.rows[0];
      if (!row) return undefined;
      // An id published again after its idempotency window is a new event: only the deliveries
      // of this one (an hour's margin for clocks of other machines).
      const { rows } = await pool.query<DeliveryResultRow>(
        `SELECT ${DELIVERY_COLUMNS(true)} FROM deliveries d
         WHERE ${match('d', 'event_id')} AND d.created_at >= $3::timestamptz - interval '1 hour'
         ORDER BY d.created_at, d.id`,
        [eventId, tenantKey, row.created_at],
      );
      return { event: rowToEvent(row), deliveries: rows.map((r) => rowToDelivery(r)) };
    },

    async listEvents(q) {
      if (q.cursor) decodeCursor(q.cursor);
      const tenantKey = await keyOf('t', q.tenantId);
      if (tenantKey === undefined) return { data: [], nextCursor: null };
      const keyed: KeyedEventQuery = { ...q, tenantKey };
      if (q.type !== undefined) {
        keyed.typeKey = await keyOf('e', q.type);
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
