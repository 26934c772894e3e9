// The SQL of the PostgreSQL history: the batch upsert, and each list as a function of its
// filters (names already turned into keys), exported so a test can EXPLAIN exactly what runs.
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
