// `npx tsx bench/history-pg.ts`: the PostgreSQL history's two numbers (issue "Delivery history
// that scales", item 6), against DATABASE_URL (default: the local test server) in a schema of its
// own, dropped at the end:
//   1. bytes per delivered event: bench events (bench/lib/api.ts) each delivered once, written
//      through the store's batch write (500 a batch, as the writer sends them); the size of
//      every partition of both tables, indexes included, divided by the events;
//   2. GET /v1/deliveries?messageId= latency (the store's listDeliveries) with 1,000,000
//      delivery rows in the table, generated in SQL.
// Options: --events N (part 1, default 50000), --rows N (part 2, default 1000000, 0 skips it),
// --queries N (default 2000).
import { randomInt } from 'node:crypto';
import { Pool } from 'pg';
import { acceptedBenchEvent, deliveredOnce, generateHistory } from './lib/history-data.js';
import { historySizes as sizes } from './lib/pg-tools.js';
import { percentile } from './lib/stats.js';
import { createHistoryPool } from '../src/store/history/pg-history.js';
import { migrateHistory } from '../src/store/history/migrate.js';
import { maintainPartitions } from '../src/store/history/partitions.js';
import { createPgHistoryStore } from '../src/store/history/pg-history-store.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const EVENTS = arg('events', 50_000);
const ROWS = arg('rows', 1_000_000);
const QUERIES = arg('queries', 2_000);
const TENANTS = 10;
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const log = (msg: string) => process.stderr.write(`[history-pg] ${msg}\n`);

async function withSchema<T>(run: (pool: Pool) => Promise<T>): Promise<T> {
  const schema = `hl_bench_${Date.now().toString(36)}`;
  await migrateHistory({ databaseUrl: url, schema });
  const pool = createHistoryPool({ databaseUrl: url, schema, retentionDays: 7, statementTimeoutMs: 0 });
  const drop = async () => {
    await pool.end().catch(() => undefined);
    const admin = new Pool({ connectionString: url, max: 1 });
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  };
  const onSignal = () => void drop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  try {
    await maintainPartitions(pool, { retentionDays: 7 });
    return await run(pool);
  } finally {
    process.off('SIGINT', onSignal);
    await drop();
  }
}

function report(title: string, parts: { name: string; kind: string; bytes: number }[], events: number) {
  const total = parts.reduce((n, p) => n + p.bytes, 0);
  console.log(`\n${title}: ${(total / events).toFixed(1)} B per delivered event (${events} events)`);
  for (const p of parts.sort((a, b) => b.bytes - a.bytes))
    console.log(`  ${p.name.padEnd(24)} ${p.kind.padEnd(14)} ${(p.bytes / events).toFixed(1).padStart(7)} B`);
  return total / events;
}

const results: Record<string, unknown> = {};

// 1. Bytes, through the write path.
await withSchema(async (pool) => {
  const store = createPgHistoryStore(pool, { retentionDays: 7 });
  const start = Date.now() - EVENTS * 2;
  log(`writing ${EVENTS} delivered bench events in batches of 500`);
  const t0 = Date.now();
  for (let i = 0; i < EVENTS; i += 500) {
    const events = Array.from({ length: Math.min(500, EVENTS - i) }, (_, k) =>
      acceptedBenchEvent(i + k, TENANTS, start + (i + k) * 2),
    );
    const deliveries = events.map((e) => deliveredOnce(e, `sub_bench_${e.tenantId}`));
    await store.write({ events, deliveries });
  }
  const ms = Date.now() - t0;
  results.writeRatePerSecond = Math.round((EVENTS * 2 * 1000) / ms);
  log(`written in ${ms} ms (${results.writeRatePerSecond} records/s)`);
  results.bytesPerDeliveredEvent = report('Bytes, write path', await sizes(pool), EVENTS);
});

// 2. messageId latency with ROWS delivery rows.
if (ROWS > 0) {
  await withSchema(async (pool) => {
    log(`generating ${ROWS} events and ${ROWS} deliveries over 7 days in SQL (minutes on a busy machine)`);
    const t0 = Date.now();
    await generateHistory(pool, {
      events: ROWS,
      tenants: TENANTS,
      subscriptionsPerTenant: 3,
      days: 6.9,
      prefix: 'b',
    });
    log(`generated in ${Math.round((Date.now() - t0) / 1000)} s`);
    results.generatedBytesPerDeliveredEvent = report('Bytes, generated rows', await sizes(pool), ROWS);
    const store = createPgHistoryStore(pool, { retentionDays: 7 });
    const time = async (n: number, query: (i: number) => Promise<unknown>) => {
      const ms: number[] = [];
      for (let k = 0; k < n; k++) {
        const t = performance.now();
        await query(k);
        ms.push(performance.now() - t);
      }
      return ms;
    };
    // generateHistory: event i belongs to tenant i % TENANTS and carries message id msg-i.
    const byMessage = (k: number) => {
      const i = k < 0 ? randomInt(ROWS) : (k * 7919 + 13) % ROWS;
      return store.listDeliveries({ tenantId: `b-t${i % TENANTS}`, messageId: `msg-${i}`, limit: 50 });
    };
    const found = await byMessage(0);
    if (found.data.length !== 1)
      throw new Error(`messageId query found ${found.data.length} deliveries, not 1`);
    await time(200, () => byMessage(-1)); // warm-up: every pool connection plans once
    const lat = await time(QUERIES, byMessage);
    const tenantList = await time(200, (k) =>
      store.listDeliveries({ tenantId: `b-t${k % TENANTS}`, limit: 50 }),
    );
    const summary = (unsorted: number[]) => {
      const ms = [...unsorted].sort((a, b) => a - b);
      return {
        p50: +percentile(ms, 50).toFixed(2),
        p99: +percentile(ms, 99).toFixed(2),
        max: +ms.at(-1)!.toFixed(2),
      };
    };
    results.messageIdQueryMs = summary(lat);
    results.tenantListMs = summary(tenantList);
    console.log(
      `\nGET /v1/deliveries?messageId= (store.listDeliveries), ${ROWS} delivery rows, ${QUERIES} queries:`,
    );
    console.log(
      `  ms ${JSON.stringify(results.messageIdQueryMs)}; tenant page of 50: ${JSON.stringify(results.tenantListMs)}`,
    );
  });
}
console.log(`\n${JSON.stringify(results)}`);
