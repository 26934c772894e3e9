// Security finding 1 ("no tenant can stall delivery for others"): a subscription whose stored
// customHeaders carry "a\r\nb" is tested 50 times and gets deliveries; every such attempt must
// fail at once as `invalid_header` without reaching undici (older undici left one pool client
// unusable per request it refused for its headers, until every later request to the origin
// waited forever), and other tenants' deliveries to the same origin and to another one arrive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { allDeliveries, makeEvents, publish, subscribe } from '../resilience/support.js';
import { uniqueTenant } from './support.js';

/** Few sockets per origin and few slots: 50 poisoned requests would jam both many times over. */
const CONNECTIONS = 4;
const SLOTS = 8;

let h: Harness;
let x: Receiver; // the origin the bad subscription points at
let y: Receiver; // another origin

beforeAll(async () => {
  h = await startHarness({
    MAX_CONNECTIONS_PER_ORIGIN: String(CONNECTIONS),
    DELIVERY_CONCURRENCY: String(SLOTS),
  });
  x = await startReceiver();
  y = await startReceiver();
});
afterAll(async () => {
  await h?.close();
  await x?.close();
  await y?.close();
});

/**
 * A subscription whose stored customHeaders hold `headers`: saved with a valid value through the
 * API, then rewritten in the store, as data saved before validation existed would be.
 */
async function storedWithHeaders(tenantId: string, url: string, headers: Record<string, string>) {
  const sub = await subscribe(h, tenantId, url, { customHeaders: { 'X-A': 'placeholder' } });
  const { subscriptionStore, subscriptions } = h.hookline.ctx;
  await subscriptionStore.patchState(sub.id, (s) => ({ ...s, customHeaders: headers }));
  subscriptions.invalidate(tenantId, sub.id);
  return sub;
}

describe('origin jamming (finding 1)', () => {
  it('50 tests and deliveries with a CR/LF header fail as invalid_header; other tenants on the same and another origin still get theirs at once', async () => {
    const bad = uniqueTenant('jam');
    const badSub = await storedWithHeaders(bad, `${x.url}/bad`, { 'X-A': 'a\r\nb' });

    const tests = await Promise.all(
      Array.from({ length: 50 }, () =>
        h.request<{ ok: boolean; error?: { code: string; message: string } }>({
          method: 'POST',
          url: `/v1/subscriptions/${badSub.id}/test?tenantId=${bad}`,
          body: {},
        }),
      ),
    );
    for (const t of tests) {
      expect(t.status, t.raw).toBe(200);
      expect(t.body.ok).toBe(false);
      expect(t.body.error?.code, t.raw).toBe('invalid_header');
      expect(t.body.error?.message).toMatch(/x-a/i);
      expect(t.raw).not.toContain('a\\r\\nb');
    }

    // Its deliveries fail once each, as invalid_header, and are not retried.
    await publish(h, makeEvents(bad, 20));
    const badRecords = await h.until(async () => {
      const all = await allDeliveries(h, badSub.id);
      return all.length === 20 && all.every((d) => d.status === 'failed') && all;
    });
    for (const d of badRecords) {
      expect(d.attempts).toHaveLength(1);
      expect(d.attempts[0]!.error?.code).toBe('invalid_header');
    }

    // Other tenants: one on the same origin, one on another; both tested and delivered promptly.
    const same = uniqueTenant('same');
    const other = uniqueTenant('other');
    const sameSub = await subscribe(h, same, `${x.url}/same`);
    const otherSub = await subscribe(h, other, `${y.url}/other`);
    const started = Date.now();
    for (const [tenant, sub] of [
      [same, sameSub],
      [other, otherSub],
    ] as const) {
      const t = await h.request<{ ok: boolean }>({
        method: 'POST',
        url: `/v1/subscriptions/${sub.id}/test?tenantId=${tenant}`,
        body: {},
      });
      expect(t.body.ok, t.raw).toBe(true);
    }
    await publish(h, [...makeEvents(same, 30), ...makeEvents(other, 30)]);
    await x.waitFor(31, { filter: (r) => r.path === '/same', timeoutMs: 10_000 });
    await y.waitFor(31, { filter: (r) => r.path === '/other', timeoutMs: 10_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const sub of [sameSub, otherSub]) {
      const records = await h.until(async () => {
        const all = await allDeliveries(h, sub.id);
        return all.length === 30 && all.every((d) => d.status === 'succeeded') && all;
      });
      expect(records.every((d) => d.attempts.length === 1)).toBe(true);
    }
    // Nothing of the bad subscription ever reached its origin.
    expect(x.requests.filter((r) => r.path === '/bad')).toHaveLength(0);
  });
});
