// Issue 17, item 3 (a): Hookline with the PostgreSQL history (DATABASE_URL, a schema of this file's
// own), a worker process killed with SIGKILL in the middle of 2,000 deliveries, while its history
// writer is moving ended records to PostgreSQL. A new worker takes over the stalled jobs and the
// outbox entries the dead writer held (after the claim idle time, 30 s). Afterwards every delivery
// the receiver saw has its record, with an attempt answered 200, in PostgreSQL; every accepted
// event has exactly one record there; and Redis holds nothing of the ended deliveries.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import {
  countHistory,
  dropSchema,
  PG_URL,
  randomSchema,
  readHistory,
  type PgDeliveryRow,
} from '../helpers/pg.js';
import { makeEvents, publish, subscribe, tally, uniqueTenant } from '../resilience/support.js';
import {
  historyLeftovers,
  startCountingReceiver,
  startWorker,
  stopWorker,
  workerEnv,
  type CountingReceiver,
  type WorkerProcess,
} from './helpers.js';

const N = 2_000;
const schema = randomSchema();
const history = { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema, HISTORY_FLUSH_INTERVAL_MS: '50' };

let api: Harness | undefined;
let rx: CountingReceiver | undefined;
const workers: WorkerProcess[] = [];
afterAll(async () => {
  for (const w of workers) await stopWorker(w);
  await api?.close();
  await rx?.close();
  await dropSchema(schema);
});

interface Outcome {
  accepted: string[];
  delivered: Set<string>;
  requests: string[];
  pg: Awaited<ReturnType<typeof readHistory>>;
  left: Awaited<ReturnType<typeof historyLeftovers>>;
}
let outcome: Outcome;

// The run: publish, kill the worker mid-run, start another, wait for every delivery and record.
beforeAll(async () => {
  const started = Date.now();
  // The API (and publisher) run here, with the same history settings; the workers are children.
  api = await startHarness(history, { workers: false });
  rx = await startCountingReceiver(5);
  const tenant = uniqueTenant('pgkill');
  await subscribe(api, tenant, `${rx.url}/k`);
  const env = workerEnv(api.config, { DELIVERY_CONCURRENCY: '50', ...history });
  workers.push(await startWorker(env));

  const accepted = await publish(api, makeEvents(tenant, N));
  expect(accepted).toHaveLength(N);
  // Killed while deliveries run and records are moving to PostgreSQL.
  await api.until(async () => rx!.ids.length >= N / 4 && (await countHistory(schema)).deliveries > 0, 60_000);
  workers[0]!.child.kill('SIGKILL');
  const exit = await workers[0]!.exited;
  expect(exit.signal).toBe('SIGKILL');
  const atKill = { delivered: rx.delivered.size, inPg: (await countHistory(schema)).deliveries };

  const restartedAt = Date.now();
  workers.push(await startWorker(env));
  await rx.waitDelivered(N, 100_000);
  const deliveredIn = Date.now() - restartedAt;

  // Every record reaches PostgreSQL (the dead writer's entries after the claim idle time), and
  // the Redis copies leave after the write. Polled until both hold; asserted in the tests below.
  const redis: Redis = api.hookline.ctx.redis;
  const prefix = api.config.REDIS_PREFIX;
  const settled = async () => {
    const l = await historyLeftovers(redis, prefix);
    if (l.deliveryKeys.length + l.eventKeys.length + l.outbox > 0) return undefined;
    const pg = await readHistory(schema);
    return new Set(pg.deliveries.map((d) => d.eventId)).size >= N ? { l, pg } : undefined;
  };
  const done = await api.until(settled, 90_000).catch(() => undefined);
  const landedIn = Date.now() - restartedAt;
  const left = done?.l ?? (await historyLeftovers(redis, prefix));
  const pg = done?.pg ?? (await readHistory(schema));
  const t = tally(rx.ids);
  console.log(
    `history SIGKILL: ${accepted.length} accepted; at kill ${atKill.delivered} delivered, ${atKill.inPg} records in PostgreSQL; ` +
      `${t.distinct}/${N} distinct delivered (${t.duplicates} duplicates) ${deliveredIn} ms after restart; ` +
      `${pg.deliveries.length} records (${new Set(pg.deliveries.map((d) => d.id)).size} ids) in PostgreSQL ${landedIn} ms after restart; ` +
      `${Date.now() - started} ms in all; left in Redis: ${left.deliveryKeys.length} dlv keys, ` +
      `${left.eventKeys.length} evt keys, ${left.outbox} outbox entries`,
  );
  outcome = { accepted, delivered: new Set(rx.delivered), requests: [...rx.ids], pg, left };
}, 240_000);

it('SIGKILL mid-run: every delivery the receiver saw has its attempt in PostgreSQL, none lost', () => {
  const { accepted, delivered, requests, pg, left } = outcome;
  expect(new Set(requests)).toEqual(new Set(accepted));
  // webhook-id is the event id; one subscription: one delivery per event.
  const byEvent = new Map<string, PgDeliveryRow[]>();
  for (const d of pg.deliveries) byEvent.set(d.eventId, [...(byEvent.get(d.eventId) ?? []), d]);
  const missing = [...delivered].filter((id) => !byEvent.has(id));
  expect(missing, 'delivered, no record in PostgreSQL').toEqual([]);
  const withoutAttempt = [...delivered].filter(
    (id) => !byEvent.get(id)!.some((d) => d.status === 's' && d.attempts.some((a) => a[3] === 200)),
  );
  expect(withoutAttempt, 'delivered, no succeeded attempt in PostgreSQL').toEqual([]);
  // Nothing accepted is lost: a record for each accepted event, each event once.
  expect(new Set(pg.deliveries.map((d) => d.eventId))).toEqual(new Set(accepted));
  expect(pg.events).toBe(accepted.length);
  // Nothing of the ended deliveries is left in Redis.
  expect(left).toEqual({ deliveryKeys: [], eventKeys: [], outbox: 0 });
});

it('SIGKILL mid-run: one record per delivery in PostgreSQL (accepted == records)', () => {
  const { accepted, pg } = outcome;
  const seen = new Map<string, PgDeliveryRow[]>();
  for (const d of pg.deliveries) seen.set(d.id, [...(seen.get(d.id) ?? []), d]);
  const twice = [...seen.values()].filter((rows) => rows.length > 1);
  expect(
    twice.slice(0, 3).map((rows) => rows.map((d) => `${d.id} ${d.eventId} created ${d.createdAt}`)),
    `${twice.length} deliveries have more than one record`,
  ).toEqual([]);
  expect(pg.deliveries).toHaveLength(accepted.length);
});
