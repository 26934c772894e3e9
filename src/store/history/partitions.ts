// Day partitions (UTC) of the history tables: created ahead of need, and dropped whole once
// every record in them is older than the retention. Retention never DELETEs rows.
import type { Pool, PoolClient } from 'pg';

export const HISTORY_TABLES = ['events', 'deliveries'] as const;
export const DAY_MS = 86_400_000;

/** Any constant shared by every Hookline process: partition DDL runs one process at a time. */
const MAINTENANCE_LOCK = 0x686c_7061_7274; // "hlpart"

export interface PartitionOptions {
  /** Days a record is kept (DELIVERY_LOG_TTL_DAYS): a day is dropped once its last instant is that old. */
  retentionDays: number;
  /** Days after today that get their partition ahead of time. Default 2. */
  aheadDays?: number;
  /** Epoch ms. Default: Date.now(). */
  now?: number;
}

export interface MaintenanceResult {
  /** Partition names created / dropped by this call. */
  created: string[];
  dropped: string[];
  /** The days (epoch day numbers) that have partitions afterwards. */
  days: number[];
}

export const dayOf = (ms: number) => Math.floor(ms / DAY_MS);
/** The oldest day whose records are still within the retention at `now`. */
export const firstKeptDay = (now: number, retentionDays: number) => dayOf(now - retentionDays * DAY_MS);

const stamp = (day: number) => new Date(day * DAY_MS).toISOString().slice(0, 10);
export const partitionName = (table: string, day: number) => `${table}_p${stamp(day).replaceAll('-', '')}`;

function dayOfPartition(name: string): number | undefined {
  const m = /_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  return m ? dayOf(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
}

async function partitionDays(client: PoolClient, table: string): Promise<Map<number, string>> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = to_regclass($1)`,
    [table],
  );
  const out = new Map<number, string>();
  for (const { name } of rows) {
    const day = dayOfPartition(name);
    if (day !== undefined) out.set(day, name);
  }
  return out;
}

/** Runs `fn` holding the maintenance lock, each statement failing after 5 s waiting for a lock. */
async function locked<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(${MAINTENANCE_LOCK})`);
    try {
      await client.query(`SET lock_timeout = '5s'`);
      return await fn(client);
    } finally {
      await client.query(`RESET lock_timeout`);
      await client.query(`SELECT pg_advisory_unlock(${MAINTENANCE_LOCK})`);
    }
  } finally {
    client.release();
  }
}

async function createDays(client: PoolClient, days: Iterable<number>, created: string[]) {
  for (const table of HISTORY_TABLES) {
    const existing = await partitionDays(client, table);
    for (const day of days) {
      if (existing.has(day)) continue;
      const name = partitionName(table, day);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${name} PARTITION OF ${table}
         FOR VALUES FROM ('${stamp(day)} 00:00:00+00') TO ('${stamp(day + 1)} 00:00:00+00')`,
      );
      created.push(name);
    }
  }
}

/** Creates the partitions of the given days that do not exist yet (the writer's on-demand path). */
export async function ensurePartitions(pool: Pool, days: Iterable<number>): Promise<string[]> {
  const created: string[] = [];
  await locked(pool, (client) => createDays(client, days, created));
  return created;
}

/**
 * Every day from the oldest kept to today + aheadDays gets its partitions; older partitions are
 * dropped. Run at start and then periodically (hourly is plenty).
 */
export async function maintainPartitions(pool: Pool, opts: PartitionOptions): Promise<MaintenanceResult> {
  const now = opts.now ?? Date.now();
  const first = firstKeptDay(now, opts.retentionDays);
  const last = dayOf(now) + (opts.aheadDays ?? 2);
  const created: string[] = [];
  const dropped: string[] = [];
  const days = await locked(pool, async (client) => {
    await createDays(
      client,
      Array.from({ length: last - first + 1 }, (_, i) => first + i),
      created,
    );
    for (const table of HISTORY_TABLES) {
      for (const [day, name] of await partitionDays(client, table)) {
        if (day >= first) continue;
        await client.query(`DROP TABLE IF EXISTS ${name}`);
        dropped.push(name);
      }
    }
    return [...(await partitionDays(client, HISTORY_TABLES[0])).keys()].sort((a, b) => a - b);
  });
  return { created, dropped, days };
}
