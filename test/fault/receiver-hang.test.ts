// Fault (d): a receiver that hangs past timeoutMs. The attempt is recorded as `timeout` (after
// about timeoutMs) and retried; the retry gets through.
import { afterAll, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { allDeliveries, makeEvents, publish, subscribe, uniqueTenant } from '../resilience/support.js';
import { startCountingReceiver, type CountingReceiver } from './helpers.js';

const N = 30;
let h: Harness | undefined;
let rx: CountingReceiver | undefined;

afterAll(async () => {
  await h?.close();
  await rx?.close();
});

it('hanging receiver: attempts recorded as timeouts, then retried', { timeout: 120_000 }, async () => {
  const started = Date.now();
  h = await startHarness({ BREAKER_FAILURES: '100000' });
  rx = await startCountingReceiver();
  // The first request of every delivery hangs; the retry is answered.
  rx.mode = (_id, n) => (n === 1 ? 'hang' : 'ok');
  const tenant = uniqueTenant('hang');
  const sub = await subscribe(h, tenant, `${rx.url}/hang`, { timeoutMs: 1_000 });
  await publish(h, makeEvents(tenant, N));
  await rx.waitDelivered(N, 60_000);

  const records = await h.until(async () => {
    const all = await allDeliveries(h!, sub.id);
    return all.length === N && all.every((d) => d.status === 'succeeded') && all;
  });
  const first = records.map((d) => d.attempts[0]!);
  const durations = first.map((a) => a.durationMs);
  console.log(
    `fault d (receiver hangs): ${rx.delivered.size}/${N} delivered after ${rx.ids.length} requests; first attempts: ${first.filter((a) => a.error?.code === 'timeout').length} timeouts taking ${Math.min(...durations)}-${Math.max(...durations)} ms (timeoutMs 1000), second attempts all succeeded; ${Date.now() - started} ms in all`,
  );
  expect(first.every((a) => a.error?.code === 'timeout')).toBe(true);
  expect(Math.min(...durations)).toBeGreaterThanOrEqual(950);
  expect(Math.max(...durations)).toBeLessThan(3_000);
  expect(records.every((d) => d.attempts.length === 2 && d.attempts[1]!.statusCode === 200)).toBe(true);
});
