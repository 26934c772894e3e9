// Every list query of the PostgreSQL history, EXPLAINed on a table of realistic size: each one
// reads the partitions through an index, none scans a whole partition that holds rows (an empty
// one, a day ahead or long past, is read as it costs nothing, and so is a sliver of a day).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeLiteral, type QueryConfig } from 'pg';
import { generateHistory } from '../../../bench/lib/history-data.js';
import { encodeCursor } from '../../../src/store/history/history-store.js';
import { maintainPartitions } from '../../../src/store/history/partitions.js';
import {
  deliveryListSql,
  eventListSql,
  type KeyedDeliveryQuery,
  type KeyedEventQuery,
} from '../../../src/store/history/pg-queries.js';
import { migratedSchema, type TestSchema } from '../../helpers/pg.js';

let db: TestSchema;
const keys: Record<string, number> = {};
/** Partitions that hold rows. */
const filled = new Set<string>();
/** Each partition's index to the index of the partitioned table it is part of. */
const parentIndex = new Map<string, string>();
const key = async (kind: string, name: string) =>
  (await db.pool.query<{ key: number }>(`SELECT key FROM names WHERE kind = $1 AND name = $2`, [kind, name]))
    .rows[0]!.key;

beforeAll(async () => {
  db = await migratedSchema();
  await maintainPartitions(db.pool, { retentionDays: 7 });
  await generateHistory(db.pool, {
    events: 60_000,
    tenants: 10,
    subscriptionsPerTenant: 3,
    days: 3,
    prefix: 'x',
  });
  keys.tenant = await key('t', 'x-t3');
  keys.sub = await key('s', 'sub_x_10');
  keys.read = await key('e', 'message.read');
  // A partition counts as filled from a tenth of its table's largest one: the three days of rows
  // end now, so near midnight the oldest (or the newest) day holds a sliver of them, and a
  // sequential scan of a few hundred rows is the plan PostgreSQL rightly picks for it.
  const { rows } = await db.pool.query<{ name: string; parent: string; tuples: number }>(
    `SELECT c.relname AS name, i.inhparent::regclass::text AS parent, c.reltuples::float8 AS tuples
     FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
     WHERE i.inhparent IN (to_regclass('events'), to_regclass('deliveries')) AND c.reltuples > 0`,
  );
  const largest = new Map<string, number>();
  for (const r of rows) largest.set(r.parent, Math.max(largest.get(r.parent) ?? 0, r.tuples));
  for (const r of rows) if (r.tuples >= largest.get(r.parent)! / 10) filled.add(r.name);
  const indexes = await db.pool.query<{ name: string; parent: string }>(
    `SELECT c.relname AS name, p.relname AS parent FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE c.relkind = 'i'`,
  );
  for (const r of indexes.rows) parentIndex.set(r.name, r.parent);
  expect(filled.size).toBeGreaterThanOrEqual(6);
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/**
 * The plan of a query: the scans of the history tables' non-empty partitions, and the indexes
 * used anywhere (by the name of the partitioned table's index). The store runs named statements,
 * which PostgreSQL may plan once for any parameters (a generic plan): both plans are checked.
 */
async function plan(query: QueryConfig, generic: boolean) {
  const client = await db.pool.connect();
  let explained: { 'QUERY PLAN': [{ Plan: PlanNode }] }[];
  try {
    await client.query(`SET plan_cache_mode = ${generic ? 'force_generic_plan' : 'force_custom_plan'}`);
    await client.query(`PREPARE q AS ${query.text}`);
    const args = (query.values ?? []).map((v) =>
      typeof v === 'number' ? String(v) : escapeLiteral(String(v)),
    );
    explained = (
      await client.query(`EXPLAIN (FORMAT JSON) EXECUTE q${args.length ? `(${args.join(', ')})` : ''}`)
    ).rows;
  } finally {
    await client.query('DEALLOCATE ALL; RESET plan_cache_mode');
    client.release();
  }
  const scans: { type: string; relation: string }[] = [];
  const indexes = new Set<string>();
  const walk = (n: PlanNode) => {
    if (n['Relation Name'] && filled.has(n['Relation Name']))
      scans.push({ type: n['Node Type'], relation: n['Relation Name'] });
    if (n['Index Name']) indexes.add(parentIndex.get(n['Index Name']) ?? n['Index Name']);
    n.Plans?.forEach(walk);
  };
  walk(explained[0]!['QUERY PLAN'][0].Plan);
  return { scans, indexes: [...indexes] };
}

/** Scan nodes that read a table through an index (a bitmap heap scan reads what its index found). */
const INDEXED = new Set(['Index Scan', 'Index Only Scan', 'Bitmap Heap Scan']);
const hour = 3_600_000;
const cursor = () => encodeCursor({ ms: Date.now() - 30 * hour, id: 'dlv_m' });

const now = Date.now();
const window = { since: now - 40 * hour, until: now - 30 * hour };

describe('history list plans', () => {
  // Each filter and the index made for it (migrations/0001_history.sql).
  const deliveryQueries: [string, () => Partial<KeyedDeliveryQuery>, string[]][] = [
    ['tenant', () => ({}), ['deliveries_tenant']],
    ['tenant, next page', () => ({ cursor: cursor() }), ['deliveries_tenant']],
    ['subscriptionId', () => ({ subscriptionKey: keys.sub }), ['deliveries_subscription']],
    ['eventType', () => ({ eventTypeKey: keys.read }), ['deliveries_type']],
    ['status failed', () => ({ status: 'failed' }), ['deliveries_unsettled']],
    // Most deliveries succeed: the tenant's newest ones, filtered.
    ['status succeeded', () => ({ status: 'succeeded' }), ['deliveries_tenant']],
    ['eventId', () => ({ eventId: 'evt_0123456789abcdef' }), ['deliveries_event']],
    ['messageId', () => ({ messageId: 'msg-12343' }), ['events_message', 'deliveries_event']],
    ['since and until', () => window, ['deliveries_tenant']],
    [
      'subscriptionId, status, since',
      () => ({ subscriptionKey: keys.sub, status: 'failed', since: now - 50 * hour }),
      [],
    ],
  ];
  for (const [name, query, expected] of deliveryQueries) {
    it.for(['custom', 'generic'])(
      `GET /v1/deliveries by ${name} reads through ${expected.join(' and ') || 'an index'} (%s plan)`,
      async (kind) => {
        const { scans, indexes } = await plan(
          deliveryListSql({ tenantId: 'x-t3', tenantKey: keys.tenant!, limit: 50, ...query() }),
          kind === 'generic',
        );
        expect(scans.length).toBeGreaterThan(0);
        expect(scans.filter((s) => !INDEXED.has(s.type))).toEqual([]);
        expect(indexes).toEqual(expect.arrayContaining(expected));
      },
    );
  }

  const eventQueries: [string, () => Partial<KeyedEventQuery>, string[]][] = [
    ['tenant', () => ({}), ['events_tenant']],
    ['tenant, next page', () => ({ cursor: cursor() }), ['events_tenant']],
    ['type', () => ({ typeKey: keys.read }), ['events_type']],
    ['messageId', () => ({ messageId: 'msg-12343' }), ['events_message']],
    ['since and until', () => window, ['events_tenant']],
  ];
  for (const [name, query, expected] of eventQueries) {
    it.for(['custom', 'generic'])(
      `GET /v1/events by ${name} reads through ${expected.join(' and ')} (%s plan)`,
      async (kind) => {
        const { scans, indexes } = await plan(
          eventListSql({ tenantId: 'x-t3', tenantKey: keys.tenant!, limit: 50, ...query() }),
          kind === 'generic',
        );
        expect(scans.length).toBeGreaterThan(0);
        expect(scans.filter((s) => !INDEXED.has(s.type))).toEqual([]);
        expect(indexes).toEqual(expect.arrayContaining(expected));
      },
    );
  }
});
