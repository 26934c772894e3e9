// Opens the PostgreSQL history: applies migrations (advisory lock), opens the pool, makes the
// day partitions and keeps them (creation ahead, retention) on a timer.
import { Pool } from 'pg';
import type { Logger } from '../../logger.js';
import { migrateHistory } from './migrate.js';
import { maintainPartitions, type MaintenanceResult } from './partitions.js';
import { HooklineError } from '../../domain/errors.js';
import type { HistoryStore } from './history-store.js';
import { createPgHistoryStore, PG_HISTORY_FILTERS, type PgHistoryStore } from './pg-history-store.js';

export interface PgHistoryOptions {
  /** DATABASE_URL. */
  databaseUrl: string;
  /** Schema of the history tables. Default `public`. */
  schema?: string;
  /** DELIVERY_LOG_TTL_DAYS. */
  retentionDays: number;
  /** Days after today with partitions ready. Default 2. */
  aheadDays?: number;
  /** Connections in the pool. Default 10. */
  poolMax?: number;
  /** How often partitions are created ahead and old ones dropped. Default 1 hour. */
  maintenanceIntervalMs?: number;
  /** A statement running longer fails (and a batch is retried). Default 30 s. */
  statementTimeoutMs?: number;
  /** Waiting longer for a connection fails the query. Default 5 s. */
  connectTimeoutMs?: number;
  logger?: Logger;
}

export interface PgHistory {
  store: PgHistoryStore;
  pool: Pool;
  /** Creates partitions ahead and drops expired ones now (also run at open and on the timer). */
  maintain(): Promise<MaintenanceResult>;
  close(): Promise<void>;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function createHistoryPool(opts: PgHistoryOptions): Pool {
  const schema = opts.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema))
    throw new Error(`history schema ${JSON.stringify(schema)} is not a plain identifier`);
  const pool = new Pool({
    connectionString: opts.databaseUrl,
    max: opts.poolMax ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
    // A connection keeps its planned statements: closing idle ones after a minute, not 10 s.
    idleTimeoutMillis: 60_000,
    application_name: 'hookline-history',
    options: `-c search_path=${schema} -c statement_timeout=${opts.statementTimeoutMs ?? 30_000}`,
  });
  // An idle connection that breaks (PostgreSQL restarted) is dropped by the pool; without a
  // listener the error would end the process.
  pool.on('error', (err) =>
    opts.logger?.warn({ err: err.message }, 'history: idle PostgreSQL connection lost'),
  );
  return pool;
}

export async function openPgHistory(opts: PgHistoryOptions): Promise<PgHistory> {
  const applied = await migrateHistory({
    databaseUrl: opts.databaseUrl,
    schema: opts.schema,
    logger: opts.logger,
  });
  if (applied.length > 0) opts.logger?.info({ applied }, 'history: migrations applied');
  const pool = createHistoryPool(opts);
  const store = createPgHistoryStore(pool, { retentionDays: opts.retentionDays });
  const maintain = async () => {
    const result = await maintainPartitions(pool, {
      retentionDays: opts.retentionDays,
      aheadDays: opts.aheadDays,
    });
    store.knownDays.clear();
    for (const day of result.days) store.knownDays.add(day);
    if (result.created.length || result.dropped.length)
      opts.logger?.info({ created: result.created, dropped: result.dropped }, 'history: partitions');
    return result;
  };
  try {
    await maintain();
  } catch (err) {
    await pool.end();
    throw err;
  }
  const timer = setInterval(() => {
    maintain().catch((err: Error) =>
      opts.logger?.warn({ err: err.message }, 'history: partition maintenance failed; retried next interval'),
    );
  }, opts.maintenanceIntervalMs ?? 3_600_000);
  timer.unref();
  return {
    store,
    pool,
    maintain,
    async close() {
      clearInterval(timer);
      await pool.end();
    },
  };
}

export interface PgHistoryConnection {
  /** The store; until PostgreSQL has answered once, every call fails as an outage (503). */
  store: HistoryStore;
  /** Resolves once the history is open (migrations applied, partitions made). */
  ready(): Promise<PgHistory>;
  close(): Promise<void>;
}

/**
 * Opens the history without making the process wait for PostgreSQL: a process starting while it
 * is down runs (deliveries go on, records wait in Redis) and keeps trying every `retryMs`.
 */
export function connectPgHistory(opts: PgHistoryOptions & { retryMs?: number }): PgHistoryConnection {
  let opened: PgHistory | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (h: PgHistory) => void = () => undefined;
  const whenOpen = new Promise<PgHistory>((resolve) => (wake = resolve));
  const attempt = async (): Promise<void> => {
    try {
      const h = await openPgHistory(opts);
      if (closed) return void (await h.close());
      opened = h;
      wake(h);
    } catch (err) {
      if (closed) return;
      opts.logger?.warn(
        { err: (err as Error).message },
        'history: PostgreSQL unreachable at start; records wait in Redis, retrying',
      );
      timer = setTimeout(() => void attempt(), opts.retryMs ?? 5_000);
      timer.unref();
    }
  };
  void attempt();
  const current = (): HistoryStore => {
    if (!opened)
      throw new HooklineError('unavailable', 'the history database is not reachable yet; retry later');
    return opened.store;
  };
  const store: HistoryStore = {
    filters: PG_HISTORY_FILTERS,
    write: async (batch) => current().write(batch),
    getDelivery: async (id, tenantId) => current().getDelivery(id, tenantId),
    listDeliveries: async (query) => current().listDeliveries(query),
    getEvent: async (tenantId, eventId) => current().getEvent(tenantId, eventId),
    listEvents: async (query) => current().listEvents(query),
    markRedriven: async (id, successorId) => current().markRedriven(id, successorId),
  };
  return {
    store,
    ready: () => whenOpen,
    async close() {
      closed = true;
      clearTimeout(timer);
      if (!opened) wake = () => undefined;
      await opened?.close();
    },
  };
}
