// Lighter tenants first, end to end on real Redis and real receivers: a light tenant's one event,
// published while a heavy tenant's call of 200 is in its fan-out, goes out before any of the
// heavy call's webhooks. In arrival order it came 10-18 ms after the heavy call's first (when
// tried), behind its record writes, leases and first requests (bench B6 (d)).
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';
import { makeEvents, publish, subscribe, uniqueTenant } from '../resilience/support.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

/** hookline_fair_waits_total in this process's scrape. */
async function fairWaits(h: Harness): Promise<number> {
  const text = await h.hookline.ctx.metrics.scrape();
  const line = text.split('\n').find((l) => l.startsWith('hookline_fair_waits_total '));
  return line ? Number(line.split(' ')[1]) : NaN;
}

async function lightBesideHeavy(fairWaitMs: string) {
  const heavyRx = await startReceiver();
  open.push(heavyRx);
  const lightRx = await startReceiver();
  open.push(lightRx);
  // The bound is long here so that a loaded CI machine's slower steps stay within it.
  const h = await startHarness({ FAIR_WAIT_MS: fairWaitMs });
  open.push(h);
  const [heavy, light] = [uniqueTenant('heavy'), uniqueTenant('light')];
  await subscribe(h, heavy, `${heavyRx.url}/heavy`);
  await subscribe(h, light, `${lightRx.url}/light`);

  // Their recent loads: 300 events (and attempts) against 2.
  await publish(h, makeEvents(light, 2));
  await publish(h, makeEvents(heavy, 300));
  await heavyRx.waitFor(300, { timeoutMs: 20_000 });
  await lightRx.waitFor(2, { timeoutMs: 20_000 });

  const waitsBefore = await fairWaits(h);
  // The light call comes once the heavy one is accepted: its fan-out is under way.
  await publish(h, makeEvents(heavy, 200));
  await publish(h, makeEvents(light, 1));
  await heavyRx.waitFor(500, { timeoutMs: 20_000 });
  await lightRx.waitFor(3, { timeoutMs: 20_000 });
  const lightAt = lightRx.requests[2]!.at;
  const heavyFirstAt = Math.min(...heavyRx.requests.slice(300).map((r) => r.at));
  // Every step begun ended (none left open to hold others up): the accept, its hand-off to the
  // fan-out, the fan-out's and each attempt's.
  await h.until(() => h.hookline.ctx.priority.open === 0, 5_000);
  return { lightAt, heavyFirstAt, waits: (await fairWaits(h)) - waitsBefore };
}

describe('lighter tenants first', () => {
  // Timing on a shared 2-core machine: it failed once in many CI runs (the light event a few ms
  // late). Without the feature it fails every time (10-18 ms after the heavy call's first), so a
  // retry keeps it a test of the feature.
  it(
    "sends a light tenant's event before a heavy tenant's call accepted just before it",
    { retry: 2 },
    async () => {
      const r = await lightBesideHeavy('1000');
      expect(r.waits).toBeGreaterThan(0);
      expect(r.lightAt, `light at ${r.lightAt}, heavy's first at ${r.heavyFirstAt}`).toBeLessThanOrEqual(
        r.heavyFirstAt,
      );
    },
  );

  it("a platform's call of many tenants' events is a step of each, and all of them end", async () => {
    const rx = await startReceiver();
    open.push(rx);
    const h = await startHarness({ FAIR_WAIT_MS: '1000' });
    open.push(h);
    const tenants = [uniqueTenant('m1'), uniqueTenant('m2'), uniqueTenant('m3')];
    for (const t of tenants) await subscribe(h, t, `${rx.url}/${t}`);
    // One call, its events interleaved across the three (as the admin token may publish them).
    const each = tenants.map((t) => makeEvents(t, 40));
    const events = each[0]!.flatMap((_, i) => each.map((list) => list[i]!));
    await publish(h, events);
    await rx.waitFor(120, { timeoutMs: 20_000 });
    await h.until(() => h.hookline.ctx.priority.open === 0, 5_000);
    for (const t of tenants) expect(rx.requests.filter((r) => r.url.includes(t))).toHaveLength(40);
  });

  it('FAIR_WAIT_MS=0 turns it off: nothing waits', async () => {
    const r = await lightBesideHeavy('0');
    expect(r.waits).toBe(0);
  });
});
