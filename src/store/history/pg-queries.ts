// The SQL of the PostgreSQL history: the batch upsert, and each list as a function of its
// filters (names already turned into keys), exported so a test can EXPLAIN exactly what runs.
import { createHash } from 'node:crypto';
import type { QueryConfig } from 'pg';
import { STATUS_CODE } from './codec.js';
import { decodeCursor, MAX_LIST_LIMIT, type DeliveryQuery, type EventQuery } from './history-store.js';

export const WRITE: Omit<QueryConfig, 'values'> = {
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

export const DELIVERY_COLUMNS = (
  attempts: boolean,
) => `d.id, d.event_id, d.status, d.created_at, d.updated_at,
  d.redriven_to, d.extra, ${attempts ? 'd.attempts' : `'[]' AS attempts`},
  (SELECT name FROM names WHERE key = d.tenant_key) AS tenant_id,
  (SELECT name FROM names WHERE key = d.subscription_key) AS subscription_id`;
export const EVENT_COLUMNS = `e.created_at, e.occurred_at, e.id, e.message_id, e.body,
  (SELECT name FROM names WHERE key = e.tenant_key) AS tenant_id,
  (SELECT name FROM names WHERE key = e.type_key) AS type`;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A named statement: each connection plans a shape of query once, not at every call. Planning
 * one over every day partition of both tables costs more than running it (about 9 ms against
 * 0.5 ms for a message id on a busy machine). The shapes are few: one per combination of filters.
 */
function prepared(text: string, values: unknown[]): QueryConfig {
  return {
    name: `hookline-${createHash('sha1').update(text).digest('base64url').slice(0, 16)}`,
    text,
    values,
  };
}
export const limitOf = (limit: number) => Math.min(Math.max(Math.trunc(limit), 1), MAX_LIST_LIMIT);

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

/**
 * Rows found by a 64-bit hash index and the exact text, fenced off (MATERIALIZED) from the
 * list's other conditions: they are a handful, and the planner must not AND the hash index with
 * the tenant's whole range of another index, nor walk that range for the LIMIT.
 */
const fenced = (name: string, table: string, where: string) =>
  `${name} AS MATERIALIZED (SELECT * FROM ${table} WHERE ${where})`;

export function deliveryListSql(q: KeyedDeliveryQuery): QueryConfig {
  const values: unknown[] = [];
  const { where, param } = listConditions('d', q, values);
  const tenant = '$1::int';
  if (q.subscriptionKey !== undefined) where.push(`d.subscription_key = ${param(q.subscriptionKey)}`);
  if (q.eventTypeKey !== undefined) where.push(`d.event_type_key = ${param(q.eventTypeKey)}`);
  // A literal, so the planner sees that it implies the partial index's predicate.
  if (q.status) where.push(`d.status = '${STATUS_CODE[q.status]}'`);
  // By event or message: the few deliveries of those events first, then the other conditions.
  const ctes: string[] = [];
  if (q.messageId !== undefined) {
    const m = `${param(q.messageId)}::text`;
    ctes.push(
      fenced(
        'm',
        'events',
        `hashtextextended(message_id, tenant_key) = hashtextextended(${m}, ${tenant}) AND message_id = ${m}`,
      ),
      fenced(
        'c',
        'deliveries',
        `hashtextextended(event_id, tenant_key) = ANY (ARRAY(SELECT hashtextextended(id, tenant_key) FROM m WHERE tenant_key = ${tenant}))
         AND event_id = ANY (ARRAY(SELECT id FROM m WHERE tenant_key = ${tenant}))`,
      ),
    );
    if (q.eventId !== undefined) where.push(`d.event_id = ${param(q.eventId)}`);
  } else if (q.eventId !== undefined) {
    const id = `${param(q.eventId)}::text`;
    ctes.push(
      fenced(
        'c',
        'deliveries',
        `hashtextextended(event_id, tenant_key) = hashtextextended(${id}, ${tenant}) AND event_id = ${id}`,
      ),
    );
  }
  const limit = param(limitOf(q.limit) + 1);
  return prepared(
    `${ctes.length ? `WITH ${ctes.join(', ')} ` : ''}SELECT ${DELIVERY_COLUMNS(q.withAttempts ?? true)}
      FROM ${ctes.length ? 'c' : 'deliveries'} d WHERE ${where.join(' AND ')}
      ORDER BY d.created_at DESC, d.id DESC LIMIT ${limit}`,
    values,
  );
}

export function eventListSql(q: KeyedEventQuery): QueryConfig {
  const values: unknown[] = [];
  const { where, param } = listConditions('e', q, values);
  if (q.typeKey !== undefined) where.push(`e.type_key = ${param(q.typeKey)}`);
  let cte = '';
  if (q.messageId !== undefined) {
    const m = `${param(q.messageId)}::text`;
    cte = `WITH ${fenced('c', 'events', `hashtextextended(message_id, tenant_key) = hashtextextended(${m}, $1::int) AND message_id = ${m}`)} `;
  }
  const limit = param(limitOf(q.limit) + 1);
  return prepared(
    `${cte}SELECT ${EVENT_COLUMNS} FROM ${cte ? 'c' : 'events'} e WHERE ${where.join(' AND ')}
      ORDER BY e.created_at DESC, e.id DESC LIMIT ${limit}`,
    values,
  );
}

/** A delivery by id (the latest if an id was reused), optionally only the tenant's. */
export function deliveryByIdSql(id: string, tenantKey?: number): QueryConfig {
  return prepared(
    `WITH ${fenced('c', 'deliveries', 'hashtextextended(id, 0) = hashtextextended($1, 0) AND id = $1')}
      SELECT ${DELIVERY_COLUMNS(true)} FROM c d ${tenantKey === undefined ? '' : 'WHERE d.tenant_key = $2'}
      ORDER BY d.created_at DESC LIMIT 1`,
    tenantKey === undefined ? [id] : [id, tenantKey],
  );
}

/** An event of a tenant by id (the latest acceptance if its id was published again later). */
export function eventByIdSql(id: string, tenantKey: number): QueryConfig {
  return prepared(
    `WITH ${fenced('c', 'events', 'hashtextextended(id, tenant_key) = hashtextextended($1, $2::int) AND id = $1')}
      SELECT ${EVENT_COLUMNS} FROM c e WHERE e.tenant_key = $2 ORDER BY e.created_at DESC LIMIT 1`,
    [id, tenantKey],
  );
}

/**
 * The deliveries of an event, oldest first: those created from its acceptance on (an hour's
 * margin for the clocks of other machines), not those of an earlier event with the same id.
 */
export function eventDeliveriesSql(id: string, tenantKey: number, acceptedAt: Date): QueryConfig {
  return prepared(
    `WITH ${fenced('c', 'deliveries', 'hashtextextended(event_id, tenant_key) = hashtextextended($1, $2::int) AND event_id = $1')}
      SELECT ${DELIVERY_COLUMNS(true)} FROM c d
      WHERE d.tenant_key = $2 AND d.created_at >= $3::timestamptz - interval '1 hour'
      ORDER BY d.created_at, d.id`,
    [id, tenantKey, acceptedAt],
  );
}
