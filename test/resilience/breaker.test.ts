// Circuit breaker (SPEC §5) with two Hookline instances sharing one Redis: it opens after
// BREAKER_FAILURES consecutive failures, holds deliveries without spending attempts, lets exactly
// one probe through per cool-down, and a successful probe closes it and releases what it held.
// Auto-disable: failing without a success for DISABLE_AFTER_MS disables the subscription.
// hookline_breaker_state follows it in every process that saw it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { startCountingReceiver, type CountingReceiver } from '../fault/helpers.js';
import { parseProm } from '../ops/prom-text.js';
import { allDeliveries, makeEvents, publish, subscribe, uniqueTenant } from './support.js';

const COOLDOWN = 2_000;
let h: Harness;
let h2: Harness;
let rx: CountingReceiver;

beforeAll(async () => {
  const overrides = {
    BREAKER_FAILURES: '5',
    BREAKER_COOLDOWN_MS: String(COOLDOWN),
    DISABLE_AFTER_MS: '600000',
  };
  h = await startHarness(overrides);
  h2 = await startHarness({ ...overrides, REDIS_PREFIX: h.config.REDIS_PREFIX }, { api: false });
  rx = await startCountingReceiver();
});
afterAll(async () => {
  await h2?.close();
  await h?.close();
  await rx?.close();
});

describe('circuit breaker', () => {
  it('opens, holds, probes once per cool-down, closes on success and releases the held deliveries', async () => {
    const tenant = uniqueTenant('breaker');
    const sub = await subscribe(h, tenant, `${rx.url}/b`, { maxRetries: 20 });
    rx.mode = 'fail';
    const events = makeEvents(tenant, 10);
    await publish(h, events);

    const redis = h.hookline.ctx.redis;
    const key = h.hookline.ctx.keys.breaker(sub.id);
    const openUntil = await h.until(async () => Number(await redis.hget(key, 'o')));
    // Sends already under way when it opened (or decided on a view not yet refreshed) land in
    // its first half second or so; after that only probes go out.
    const settled = openUntil - COOLDOWN / 2;
    const after = () => rx.times.filter((at) => at > settled);
    // Two probes, both failing: after the opening exactly one request per cool-down.
    await h.until(() => after().length >= 2, 10_000);
    const [p1, p2] = after() as [number, number];
    expect(p1).toBeGreaterThanOrEqual(openUntil - 20);
    expect(p2 - p1).toBeGreaterThanOrEqual(COOLDOWN * 0.95);
    const beforeOpen = rx.ids.length - 2;

    // Let the third probe succeed: the breaker closes and releases everything it held at once.
    rx.mode = 'ok';
    await rx.waitDelivered(10, 10_000);
    const [, , p3] = after() as [number, number, number];
    expect(p3 - p2).toBeGreaterThanOrEqual(COOLDOWN * 0.95);
    const lastAt = rx.times.at(-1)!;
    expect(lastAt - p3).toBeLessThan(COOLDOWN * 0.7);
    expect(await redis.exists(key)).toBe(0);

    const records = await h.until(async () => {
      const all = await allDeliveries(h, sub.id);
      return all.every((d) => d.status === 'succeeded') && all;
    });
    // Holding spent no attempts: attempts on record = requests received.
    const attempts = records.reduce((n, d) => n + d.attempts.length, 0);
    console.log(
      `breaker: ${beforeOpen} failed requests until it opened, probes at +${p1 - (openUntil - COOLDOWN)} / +${p2 - p1} / +${p3 - p2} ms, ${after().length - 3} held deliveries released ${lastAt - p3} ms after the good probe; ${attempts} attempts on record = ${rx.ids.length} requests`,
    );
    expect(attempts).toBe(rx.ids.length);
    expect(after().length).toBe(3 + 9);
  });
});

describe('auto-disable', () => {
  let hd: Harness;
  let rd: CountingReceiver;
  beforeAll(async () => {
    hd = await startHarness({ BREAKER_FAILURES: '3', BREAKER_COOLDOWN_MS: '300', DISABLE_AFTER_MS: '1500' });
    rd = await startCountingReceiver();
  });
  afterAll(async () => {
    await hd?.close();
    await rd?.close();
  });

  it('disables a subscription failing without a success for DISABLE_AFTER_MS; deliveries park until resume', async () => {
    const tenant = uniqueTenant('disable');
    const sub = await subscribe(hd, tenant, `${rd.url}/d`, { maxRetries: 20 });
    rd.mode = 'fail';
    await publish(hd, makeEvents(tenant, 4));
    const get = async () =>
      (
        await hd.request<{ status: string; disabledReason?: string }>({
          method: 'GET',
          url: `/v1/subscriptions/${sub.id}`,
        })
      ).body;
    const disabled = await hd.until(async () => {
      const s = await get();
      return s.status === 'disabled' && s;
    }, 10_000);
    const disabledAt = Date.now();
    expect(disabled.disabledReason).toBe('failing');
    expect(disabledAt - rd.times[0]!).toBeGreaterThanOrEqual(1_500);

    // Parked: nothing is sent while disabled (a bounded window: absence cannot be awaited).
    const before = rd.ids.length;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(rd.ids.length).toBe(before);
    const parked = await allDeliveries(hd, sub.id);
    expect(parked.every((d) => d.status === 'retrying' && d.attempts.length < 21)).toBe(true);

    rd.mode = 'ok';
    const resumed = await hd.request({ method: 'POST', url: `/v1/subscriptions/${sub.id}/resume` });
    expect(resumed.status, resumed.raw).toBe(200);
    await rd.waitDelivered(4, 10_000);
    console.log(
      `auto-disable: disabled ${disabledAt - rd.times[0]!} ms after the first failure, ${before} failed attempts, 4/4 delivered after resume`,
    );
  });
});

describe('hookline_breaker_state', () => {
  const overrides = { BREAKER_FAILURES: '3', BREAKER_COOLDOWN_MS: '1000', DISABLE_AFTER_MS: '600000' };
  let ha: Harness;
  let hb: Harness | undefined;
  let gx: Receiver;
  let answer: 'fail' | 'hold' | 'ok' = 'fail';
  let release: (() => void) | undefined;
  beforeAll(async () => {
    ha = await startHarness(overrides);
    gx = await startReceiver(() => {
      if (answer !== 'hold') return { status: answer === 'ok' ? 200 : 500 };
      answer = 'ok'; // the first request (the probe) waits until released, then succeeds
      return new Promise((resolve) => (release = () => resolve({ status: 200 })));
    });
  });
  afterAll(async () => {
    await hb?.close();
    await ha?.close();
    await gx?.close();
  });

  const gauge = (text: string, subId: string) =>
    parseProm(text).find((s) => s.name === 'hookline_breaker_state' && s.labels.subscription_id === subId)
      ?.value;
  /** GET /metrics of the API process. */
  const scrape = async () =>
    (await ha.request({ method: 'GET', url: '/metrics', headers: { authorization: '' } })).raw;

  it('is 2 once open, 1 while the probe runs, absent once closed, in the process that opened it and the one that closed it', async () => {
    const tenant = uniqueTenant('gauge');
    const sub = await subscribe(ha, tenant, `${gx.url}/g`, { maxRetries: 20 });
    await publish(ha, makeEvents(tenant, 5));
    // ha's own attempts opened it.
    await ha.until(async () => gauge(await scrape(), sub.id) === 2);

    // Another worker process takes over; ha keeps its API and /metrics but sends nothing more.
    hb = await startHarness({ ...overrides, REDIS_PREFIX: ha.config.REDIS_PREFIX }, { api: false });
    await ha.hookline.workers!.close();
    answer = 'hold';
    // After the cool-down hb sends the probe; both show half-open while it is under way.
    await ha.until(() => release);
    expect(gauge(await hb.hookline.ctx.metrics.scrape(), sub.id)).toBe(1);
    expect(gauge(await scrape(), sub.id)).toBe(1);

    // The probe succeeds: hb closes the breaker and drops the series; ha, which only saw it
    // open, reads it again at its next scrape and drops it too.
    release!();
    await ha.until(async () => gauge(await hb!.hookline.ctx.metrics.scrape(), sub.id) === undefined);
    expect(gauge(await scrape(), sub.id)).toBeUndefined();
    expect(await ha.hookline.ctx.redis.exists(ha.hookline.ctx.keys.breaker(sub.id))).toBe(0);
  });
});
