// Hookline's own deadline (finding 1): an attempt whose request is still unsettled at timeoutMs
// + DEADLINE_MARGIN_MS is recorded as `timeout` and its slot freed, whatever the HTTP client
// does. This tests Hookline's timer, not undici: the requests go to a stand-in dispatcher that
// never calls back (test/helpers/held-dispatcher.ts), as a request stuck in a jammed pool did.
import { afterEach, describe, expect, it } from 'vitest';
import { DEADLINE_MARGIN_MS } from '../../src/delivery/attempt.js';
import { heldDispatcher } from '../helpers/held-dispatcher.js';
import { startHarness } from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';
import { allDeliveries, makeEvents, publish, subscribe, uniqueTenant } from '../resilience/support.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

const TIMEOUT_MS = 1000;
const DEADLINE_MS = TIMEOUT_MS + DEADLINE_MARGIN_MS;
/** Slack for a loaded machine: timers fire late, never early. */
const SLACK_MS = 1000;

describe("Hookline's own deadline", () => {
  it('a request that never settles is recorded as timeout at timeoutMs + margin and frees its slot; its late answer changes nothing', async () => {
    const held = heldDispatcher();
    open.push(held);
    const rx = await startReceiver();
    open.push(rx);
    const h = await startHarness({ DELIVERY_CONCURRENCY: '2' }, { agent: held.dispatcher });
    open.push(h);
    const slots = h.hookline.workers!.slots;
    const tenant = uniqueTenant('deadline');
    const sub = await subscribe(h, tenant, `${rx.url}/late`, { timeoutMs: TIMEOUT_MS, maxRetries: 0 });

    // Two slots, three deliveries: the third starts only once a given-up attempt freed its slot.
    await publish(h, makeEvents(tenant, 3));
    const records = await h.until(async () => {
      const all = await allDeliveries(h, sub.id);
      return all.length === 3 && all.every((d) => d.status === 'failed') && all;
    }, 15_000);
    for (const d of records) {
      expect(d.attempts).toHaveLength(1);
      expect(d.attempts[0]!.error?.code).toBe('timeout');
      expect(d.attempts[0]!.durationMs).toBeGreaterThanOrEqual(DEADLINE_MS);
      expect(d.attempts[0]!.durationMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
    }
    expect(held.count).toBe(3);
    await h.until(() => slots.available === 2);

    // A test request ends the same way.
    const t = await h.request<{ ok: boolean; durationMs: number; error?: { code: string } }>({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}/test?tenantId=${tenant}`,
      body: {},
    });
    expect(t.body.error?.code, t.raw).toBe('timeout');
    expect(t.body.durationMs).toBeGreaterThanOrEqual(DEADLINE_MS);
    expect(held.count).toBe(4);

    // The abandoned requests now get real answers: nothing is recorded or released twice.
    await held.answerAll();
    await rx.waitFor(4, { filter: (r) => r.path === '/late' });
    const after = await allDeliveries(h, sub.id);
    expect(after.map((d) => [d.status, d.attempts.length])).toEqual(records.map(() => ['failed', 1]));
    expect(slots.available).toBe(2);
    expect(slots.waiting).toBe(0);
  });
});
