// PostgreSQL for tests: the machine's server (127.0.0.1:5432, database `test`), each test file in
// its own schema, dropped afterwards; and a TCP relay in front of it that a test can cut and
// restore to play an outage without touching the server other tests use.
import { randomBytes } from 'node:crypto';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { Pool } from 'pg';
import { createHistoryPool, type PgHistoryOptions } from '../../src/store/history/pg-history.js';
import { migrateHistory } from '../../src/store/history/migrate.js';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const randomSchema = () => `hl_test_${randomBytes(5).toString('hex')}`;

export interface TestSchema {
  schema: string;
  /** A pool whose connections use the schema (search_path), as the history's pool does. */
  pool: Pool;
  options: PgHistoryOptions;
  drop(): Promise<void>;
}

/** A fresh schema with the migrations applied. */
export async function migratedSchema(overrides: Partial<PgHistoryOptions> = {}): Promise<TestSchema> {
  const schema = randomSchema();
  await migrateHistory({ databaseUrl: PG_URL, schema });
  const options: PgHistoryOptions = { databaseUrl: PG_URL, schema, retentionDays: 7, ...overrides };
  const pool = createHistoryPool(options);
  return {
    schema,
    pool,
    options,
    async drop() {
      await pool.end();
      await dropSchema(schema);
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const admin = new Pool({ connectionString: PG_URL, max: 1 });
  try {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await admin.end();
  }
}

export interface PgRelay {
  /** postgres:// URL through the relay. */
  url: string;
  /** Refuses new connections and breaks open ones, as a server that went away. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** A TCP relay on 127.0.0.1 to the test PostgreSQL server. */
export async function startPgRelay(): Promise<PgRelay> {
  const target = new URL(PG_URL);
  const sockets = new Set<Socket>();
  const listen = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const server = createServer((client) => {
        const upstream = new Socket();
        sockets.add(client).add(upstream);
        const end = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
        upstream.connect(Number(target.port || 5432), target.hostname, () => {
          client.pipe(upstream).pipe(client);
        });
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  let server: Server | undefined = await listen(0);
  const port = (server.address() as AddressInfo).port;
  const url = new URL(PG_URL);
  url.port = String(port);
  const stop = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (s) await new Promise((resolve) => s.close(resolve));
  };
  return {
    url: url.toString(),
    cut: stop,
    async restore() {
      server ??= await listen(port);
    },
    close: stop,
  };
}

export interface PgDeliveryRow {
  id: string;
  eventId: string;
  /** One character (src/store/history/codec.ts): s succeeded, f failed, … */
  status: string;
  /** Attempt tuples: [n, startedAt offset, durationMs, statusCode, error, headers, body]. */
  attempts: unknown[][];
  createdAt: string;
}

/** The history a Hookline wrote to `schema`: its delivery rows and how many events it holds. */
export async function readHistory(schema: string): Promise<{ deliveries: PgDeliveryRow[]; events: number }> {
  const admin = new Pool({ connectionString: PG_URL, max: 1 });
  try {
    const d = await admin.query<{
      id: string;
      event_id: string;
      status: string;
      attempts: string;
      created_at: Date;
    }>(`SELECT id, event_id, status, attempts, created_at FROM ${schema}.deliveries`);
    const e = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.events`);
    return {
      deliveries: d.rows.map((r) => ({
        id: r.id,
        eventId: r.event_id,
        status: r.status,
        attempts: JSON.parse(r.attempts) as unknown[][],
        createdAt: r.created_at.toISOString(),
      })),
      events: Number(e.rows[0]!.n),
    };
  } finally {
    await admin.end();
  }
}

/** Delivery and event rows in `schema` (0 and 0 while its tables do not exist yet). */
export async function countHistory(schema: string): Promise<{ deliveries: number; events: number }> {
  const admin = new Pool({ connectionString: PG_URL, max: 1 });
  try {
    const { rows } = await admin.query<{ made: boolean }>('SELECT to_regclass($1) IS NOT NULL AS made', [
      `${schema}.deliveries`,
    ]);
    if (!rows[0]!.made) return { deliveries: 0, events: 0 };
    const r = await admin.query<{ d: string; e: string }>(
      `SELECT (SELECT count(*) FROM ${schema}.deliveries) AS d, (SELECT count(*) FROM ${schema}.events) AS e`,
    );
    return { deliveries: Number(r.rows[0]!.d), events: Number(r.rows[0]!.e) };
  } finally {
    await admin.end();
  }
}
