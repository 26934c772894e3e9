// History records for benchmarks and plan tests: one shaped as Hookline writes it for a bench
// event (bench/lib/api.ts) delivered once, and the same shape generated in SQL by the million.
import type { Pool, PoolClient } from 'pg';
import { deliveryId, newId } from '../../src/domain/ids.js';
import type { HooklineEvent } from '../../src/domain/event.js';
import type { HistoryDelivery } from '../../src/store/history/history-store.js';
import { benchEvent } from './api.js';

/** What node:http answers for the bench receiver's `writeHead(200, {'content-length': '0'})`. */
export const receiverHeaders = (ms: number) => ({
  'content-length': '0',
  date: new Date(ms).toUTCString(),
  connection: 'keep-alive',
  'keep-alive': 'timeout=5',
});

/** The i-th bench event as accepted at `at` (occurredAt defaults to the acceptance time). */
export function acceptedBenchEvent(i: number, tenants: number, at: number): HooklineEvent {
  const iso = new Date(at).toISOString();
  return { ...benchEvent(i, tenants, at % 100_000), id: newId('evt'), occurredAt: iso, acceptedAt: at };
}

/** Its delivery, succeeded at the first attempt, as the pipeline ends it. */
export function deliveredOnce(event: HooklineEvent, subscriptionId: string): HistoryDelivery {
  const created = event.acceptedAt + 2;
  return {
    id: deliveryId(event.tenantId, event.id, subscriptionId),
    eventId: event.id,
    subscriptionId,
    tenantId: event.tenantId,
    target: 'subscription',
    status: 'succeeded',
    createdAt: new Date(created).toISOString(),
    updatedAt: new Date(created + 9).toISOString(),
    nextAttemptAt: null,
    attempts: [
      {
        n: 1,
        startedAt: new Date(created + 5).toISOString(),
        durationMs: 3,
        statusCode: 200,
        error: null,
        responseHeaders: receiverHeaders(created + 6),
        responseBody: '',
      },
    ],
    eventType: event.type,
  };
}

export interface GenerateOptions {
  events: number;
  tenants: number;
  subscriptionsPerTenant: number;
  /** Creation times spread evenly over this many days, ending now. */
  days: number;
  /** Tenant names are `${prefix}-t<i>`. */
  prefix: string;
}

/**
 * Inserts `events` events with one delivery each straight in SQL (seconds per million), in the
 * row layout the store writes: mostly message.delivered, 2 % failed deliveries, 0.5 % cancelled,
 * rows ordered per batch of 500 by tenant as the writer sends them. Partitions must exist.
 */
export async function generateHistory(pool: Pool, o: GenerateOptions): Promise<void> {
  const client = await pool.connect();
  try {
    // Millions of rows take longer than the history pool's statement timeout.
    await client.query('SET statement_timeout = 0');
    await generate(client, o);
  } finally {
    await client.query('RESET statement_timeout');
    client.release();
  }
}

async function generate(pool: PoolClient, o: GenerateOptions): Promise<void> {
  const subs = o.tenants * o.subscriptionsPerTenant;
  await pool.query(
    `INSERT INTO names (kind, name)
     SELECT 't', $1 || '-t' || i FROM generate_series(0, $2 - 1) i
     UNION ALL SELECT 's', 'sub_' || $1 || '_' || i FROM generate_series(0, $3 - 1) i
     UNION ALL SELECT 'e', unnest(ARRAY['message.delivered', 'message.sent', 'message.read', 'message.failed'])
     ON CONFLICT DO NOTHING`,
    [o.prefix, o.tenants, subs],
  );
  const common = `
    WITH k AS (
      SELECT (SELECT array_agg(key ORDER BY substring(name from '-t(\\d+)$')::int) FROM names
              WHERE kind = 't' AND name LIKE $1 || '-t%') AS tenants,
             (SELECT array_agg(key ORDER BY substring(name from '_(\\d+)$')::int) FROM names
              WHERE kind = 's' AND name LIKE 'sub\\_' || $1 || '\\_%') AS subs,
             (SELECT array_agg(key ORDER BY name = 'message.delivered' DESC, name) FROM names
              WHERE kind = 'e' AND name LIKE 'message.%') AS types
    ), g AS (
      SELECT i, k.tenants[1 + i % $3] AS tenant, k.subs[1 + (i % $3) * $5 + (i / $3) % $5] AS sub,
        k.types[CASE WHEN i % 20 < 14 THEN 1 ELSE 2 + i % 3 END] AS type,
        now() - make_interval(secs => ($2 - i)::float8 * $4 * 86400 / $2) AS at,
        'evt_' || substr(md5($1 || 'e' || i), 1, 16) AS event_id
      FROM generate_series(0, $2 - 1) i, k
    )`;
  const params = [o.prefix, o.events, o.tenants, o.days, o.subscriptionsPerTenant];
  await pool.query(
    `${common}
     INSERT INTO events (tenant_key, type_key, created_at, occurred_at, id, message_id, body)
     SELECT tenant, type, at, NULL, event_id, 'msg-' || i,
       '{"channel":"sms","sender":"HOOKLINE","recipient":"9647700000000","data":{"t":' || (i % 100000) || '.125}}'
     FROM g ORDER BY i / 500, tenant, i`,
    params,
  );
  await pool.query(
    `${common}
     INSERT INTO deliveries (tenant_key, subscription_key, event_type_key, status, created_at, updated_at, id,
       event_id, attempts)
     SELECT tenant, sub, type,
       CASE WHEN i % 200 = 7 THEN 'c' WHEN i % 50 = 3 THEN 'f' ELSE 's' END,
       at + interval '2 ms', at + interval '11 ms', 'dlv_' || substr(md5($1 || 'd' || i), 1, 24), event_id,
       '[[1,5,3,200,null,{"content-length":"0","date":"' || to_char(at, 'Dy, DD Mon YYYY HH24:MI:SS') ||
         ' GMT","connection":"keep-alive","keep-alive":"timeout=5"},""]]'
     FROM g ORDER BY i / 500, tenant, i`,
    params,
  );
  await pool.query('ANALYZE events, deliveries');
}
