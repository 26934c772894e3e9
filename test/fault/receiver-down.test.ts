// Fault (c): the receiver is down (connections refused) for longer than three retries, then
// comes back: every delivery gets through, with its failed attempts on record.
import { afterAll, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { allDeliveries, makeEvents, publish, subscribe, tally, uniqueTenant } from '../resilience/support.js';
import { startCountingReceiver, type CountingReceiver } from './helpers.js';

const N = 200;
let h: Harness | undefined;
let rx: CountingReceiver | undefined;

afterAll(async () => {
  await h?.close();
  await rx?.close();
});

it('receiver down for more than three retries, then back: all delivered', { timeout: 120_000 }, async () => {
  const started = Date.now();
  // The breaker is kept out of the way here (its own tests cover it): this is about retries.
  h = await startHarness({ RETRY_BASE_MS: '100', RETRY_MAX_DELAY_MS: '2000', BREAKER_FAILURES: '100000' });
  rx = await startCountingReceiver();
  const tenant = uniqueTenant('down');
  const sub = await subscribe(h, tenant, `${rx.url}/down`, { maxRetries: 10 });
  await rx.down();
  const downAt = Date.now();
  const accepted = await publish(h, makeEvents(tenant, N));

  // Down until every delivery has failed its first attempt and three retries.
  const failedAttempts = await h.until(async () => {
    const all = await allDeliveries(h!, sub.id);
    return all.length === N && all.every((d) => d.attempts.length >= 4) && all;
  }, 60_000);
  expect(failedAttempts.every((d) => d.attempts.every((a) => a.error?.code === 'connection_error'))).toBe(
    true,
  );
  await rx.up();
  const downMs = Date.now() - downAt;

  await rx.waitDelivered(N, 60_000);
  const records = await h.until(async () => {
    const all = await allDeliveries(h!, sub.id);
    return all.every((d) => d.status === 'succeeded') && all;
  });
  const attempts = records.map((d) => d.attempts.length);
  const t = tally(rx.ids);
  console.log(
    `fault c (receiver down): down ${downMs} ms; ${t.distinct}/${N} delivered, ${N - t.distinct} missing, ${t.duplicates} duplicates; attempts per delivery ${Math.min(...attempts)}-${Math.max(...attempts)} (all failed ones connection_error); ${Date.now() - started} ms in all`,
  );
  expect(new Set(rx.ids)).toEqual(new Set(accepted));
  expect(Math.min(...attempts)).toBeGreaterThanOrEqual(5);
});
