// PostgreSQL housekeeping for the bench: a history schema of the run's own (dropped at the end,
// however the run ends), and what the history tables cost (every partition, indexes included).
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import type { BenchContext } from './context.js';
import { sleep } from './clock.js';
import { createHistoryPool } from '../../src/store/history/pg-history.js';

/** DATABASE_URL of the bench (default: the machine's test database). */
export const benchDatabaseUrl = () => process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface BenchSchema {
  schema: string;
  /** DATABASE_URL and DATABASE_SCHEMA for the Hookline under test. */
  env: { DATABASE_URL: string; DATABASE_SCHEMA: string };
  /** A pool on the schema (search_path), no statement timeout. */
  pool: Pool;
  /** Resolves once Hookline has migrated the schema (it opens PostgreSQL without waiting). */
  ready(deadline: number): Promise<void>;
}

/** Runs `run` with a fresh schema name; the schema (made by Hookline's migrations) is dropped after. */
export async function withBenchSchema<T>(ctx: BenchContext, run: (s: BenchSchema) => Promise<T>): Promise<T> {
  const url = benchDatabaseUrl();
  const schema = `hl_bench_${randomBytes(5).toString('hex')}`;
  const pool = createHistoryPool({
    databaseUrl: url,
    schema,
    retentionDays: 7,
    statementTimeoutMs: 0,
    poolMax: 2,
  });
  const drop = async () => {
    ctx.restores.delete(drop);
    await pool.end().catch(() => undefined);
    const admin = new Pool({ connectionString: url, max: 1 });
    try {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await admin.end();
    }
  };
  ctx.restores.add(drop);
  try {
    return await run({
      schema,
      env: { DATABASE_URL: url, DATABASE_SCHEMA: schema },
      pool,
      async ready(deadline) {
        for (;;) {
          const { rows } = await pool.query<{ ok: boolean }>(
            `SELECT to_regclass('deliveries') IS NOT NULL AND to_regclass('events') IS NOT NULL AS ok`,
          );
          if (rows[0]?.ok) return;
          if (Date.now() >= deadline) throw new Error(`schema ${schema}: history tables not made in time`);
          await sleep(100);
        }
      },
    });
  } finally {
    await drop();
  }
}

export interface TableSize {
  /** Parent table or index (all its partitions together). */
  name: string;
  kind: 'heap (+TOAST)' | 'index';
  bytes: number;
}

/** Bytes of each history partition and of its indexes, summed by parent table and by index. */
export async function historySizes(pool: Pool): Promise<TableSize[]> {
  const { rows } = await pool.query<{ parent: string; kind: TableSize['kind']; bytes: string }>(`
    WITH tables AS (SELECT unnest(ARRAY[to_regclass('events'), to_regclass('deliveries')])::oid AS oid)
    SELECT p.relname AS parent, 'heap (+TOAST)' AS kind, sum(pg_table_size(i.inhrelid)) AS bytes
    FROM tables t JOIN pg_class p ON p.oid = t.oid JOIN pg_inherits i ON i.inhparent = t.oid GROUP BY 1
    UNION ALL
    SELECT pi.relname, 'index', sum(pg_relation_size(ii.inhrelid))
    FROM tables t JOIN pg_index x ON x.indrelid = t.oid JOIN pg_class pi ON pi.oid = x.indexrelid
    JOIN pg_inherits ii ON ii.inhparent = pi.oid GROUP BY 1`);
  return rows.map((r) => ({ name: r.parent, kind: r.kind, bytes: Number(r.bytes) }));
}

/** after − before, per part. */
export function sizeDelta(before: TableSize[], after: TableSize[]): TableSize[] {
  return after.map((a) => ({
    ...a,
    bytes: a.bytes - (before.find((b) => b.name === a.name && b.kind === a.kind)?.bytes ?? 0),
  }));
}
