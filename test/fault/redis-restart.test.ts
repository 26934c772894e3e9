// Fault (b): the test's own Redis (AOF, appendfsync always) is killed and restarted mid-run.
// Every event the API accepted (202, not a duplicate) is delivered. A second test checks that a
// publish while Redis is down is refused (5xx) rather than acknowledged.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { makeEvents, subscribe, tally, uniqueTenant } from '../resilience/support.js';
import {
  startCountingReceiver,
  startRedisServer,
  type CountingReceiver,
  type RedisServer,
} from './helpers.js';

let redis: RedisServer | undefined;
let h: Harness | undefined;
let rx: CountingReceiver | undefined;
const harness = () => h!;
const receiver = () => rx!;
const server = () => redis!;

beforeAll(async () => {
  redis = await startRedisServer();
  h = await startHarness({ REDIS_URL: redis.url, RETRY_BASE_MS: '200', RETRY_MAX_DELAY_MS: '2000' });
  rx = await startCountingReceiver(5);
});
// Closing after an outage waits on reconnects; on a loaded CI machine that can pass 30 s.
afterAll(async () => {
  await h?.close().catch(() => undefined);
  await rx?.close();
  await redis?.destroy();
}, 90_000);

interface Answer {
  accepted: string[];
  /** Fresh ids answered `duplicate: true`: acknowledged, yet never queued. */
  falselyDuplicate: string[];
}

/** Publishes one batch of fresh ids; a refusal (non-202) accepts none of them. */
async function tryPublish(events: { id: string }[]): Promise<Answer> {
  const res = await h!.request<{ results?: { id: string; duplicate: boolean }[] }>({
    method: 'POST',
    url: '/v1/events/batch',
    body: { events },
  });
  const results = res.status === 202 ? res.body.results! : [];
  return {
    accepted: results.filter((r) => !r.duplicate).map((r) => r.id),
    falselyDuplicate: results.filter((r) => r.duplicate).map((r) => r.id),
  };
}

it('Redis killed and restarted mid-run: every accepted event delivered', { timeout: 120_000 }, async () => {
  const started = Date.now();
  const [h, rx, redis] = [harness(), receiver(), server()];
  const tenant = uniqueTenant('aof');
  await subscribe(h, tenant, `${rx.url}/aof`);
  const accepted: string[] = [];
  const falselyDuplicate: string[] = [];
  const take = (a: Answer) => {
    accepted.push(...a.accepted);
    falselyDuplicate.push(...a.falselyDuplicate);
    return a.accepted.length;
  };

  const before = makeEvents(tenant, 600, 'before');
  for (let i = 0; i < before.length; i += 200) take(await tryPublish(before.slice(i, i + 200)));
  expect(accepted).toHaveLength(600);
  await h.until(() => rx!.delivered.size >= 150, 30_000);

  await redis.kill();
  const killedAt = Date.now();
  const deliveredAtKill = rx.delivered.size;
  // A publish while it is down: it must be refused (or, if it outlives the outage, accepted).
  const during = makeEvents(tenant, 50, 'during');
  const duringAnswer = tryPublish(during);
  // The outage itself is a fixed span: that is the fault being injected.
  await new Promise((r) => setTimeout(r, 1_500));
  await redis.start();
  const downMs = Date.now() - killedAt;
  const refused = during.length - take(await duringAnswer);

  // After the restart: publishers retry until the API takes their batch again.
  const after = makeEvents(tenant, 400, 'after');
  for (let i = 0; i < after.length; i += 200) {
    const batch = after.slice(i, i + 200);
    await h.until(async () => take(await tryPublish(batch)) > 0, 30_000);
  }

  await h.until(() => accepted.every((id) => rx!.delivered.has(id)), 60_000).catch(() => undefined);
  const t = tally(rx.ids);
  const missing = accepted.filter((id) => !rx!.delivered.has(id));
  console.log(
    `fault b (Redis restart): down ${downMs} ms with ${deliveredAtKill} delivered; ${accepted.length} accepted, ${refused} refused during the outage (${falselyDuplicate.length} of them answered 202 duplicate:true); ${accepted.length - missing.length}/${accepted.length} accepted delivered, ${missing.length} missing, ${t.total} requests, ${t.duplicates} duplicates; ${Date.now() - started} ms in all`,
  );
  expect(missing).toEqual([]);
});

it('a publish while Redis is down is refused, not acknowledged', { timeout: 60_000 }, async () => {
  const tenant = uniqueTenant('down');
  await redis!.kill();
  const answer = await tryPublish(makeEvents(tenant, 20, 'down'));
  await redis!.start();
  console.log(
    `fault b (publish during outage): ${answer.accepted.length} accepted, ${answer.falselyDuplicate.length} answered 202 duplicate:true, ${20 - answer.accepted.length - answer.falselyDuplicate.length} refused`,
  );
  // SPEC §2: a 202 means accepted. Fresh ids answered `duplicate: true` were never queued.
  expect(answer.falselyDuplicate, 'the publisher acknowledged events it could not queue').toEqual([]);
  expect(answer.accepted).toEqual([]);
});
