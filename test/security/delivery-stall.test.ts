// Stall detection (finding 1: /readyz said ready while every delivery slot was stuck): with
// every slot busy and none freed for longer than DELIVERY_STALL_MS, /readyz answers 503 naming
// it and hookline_delivery_stalled is 1; once slots turn over it is ready again. Real undici,
// real receiver that holds its answers; a short DELIVERY_STALL_MS stands in for the default.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { parseProm, sampleSum } from '../ops/prom-text.js';
import { allDeliveries, makeEvents, publish, subscribe } from '../resilience/support.js';
import { uniqueTenant } from './support.js';

const STALL_MS = 1500;

let h: Harness;
let rx: Receiver;
let answer!: () => void;

beforeAll(async () => {
  const gate = new Promise<void>((resolve) => (answer = resolve));
  rx = await startReceiver(async () => {
    await gate;
    return { status: 200 };
  });
  h = await startHarness({ DELIVERY_CONCURRENCY: '2', DELIVERY_STALL_MS: String(STALL_MS) });
});
afterAll(async () => {
  answer?.();
  await h?.close();
  await rx?.close();
});

const readyz = () =>
  h.request<{ status: string; checks: Record<string, string>; detail?: string }>({
    method: 'GET',
    url: '/readyz',
    headers: { authorization: '' },
  });

async function stallMetrics() {
  const res = await h.request({ method: 'GET', url: '/metrics', headers: { authorization: '' } });
  const samples = parseProm(res.raw);
  return {
    stalled: sampleSum(samples, 'hookline_delivery_stalled'),
    fullSeconds: sampleSum(samples, 'hookline_delivery_slots_full_seconds'),
  };
}

describe('delivery stall detection', () => {
  it('/readyz answers 503 and the gauge shows 1 while every slot is held past DELIVERY_STALL_MS; ready again once they turn over', async () => {
    expect((await readyz()).status).toBe(200);
    expect(await stallMetrics()).toEqual({ stalled: 0, fullSeconds: 0 });

    const tenant = uniqueTenant('stall');
    const sub = await subscribe(h, tenant, `${rx.url}/slow`, { timeoutMs: 30_000 });
    const started = Date.now();
    await publish(h, makeEvents(tenant, 3)); // two take the slots, one waits
    await rx.waitFor(2);

    const stalled = await h.until(async () => {
      const res = await readyz();
      return res.status === 503 && res;
    });
    expect(Date.now() - started).toBeGreaterThan(STALL_MS);
    expect(stalled.body).toEqual({
      status: 'not ready',
      checks: { redis: 'ok', workers: 'stalled' },
      detail: expect.stringMatching(/^every delivery slot \(2\) busy with none freed for [\d.]+ s/),
    });
    const m = await stallMetrics();
    expect(m.stalled).toBe(1);
    expect(m.fullSeconds).toBeGreaterThan(STALL_MS / 1000);
    expect((await h.request({ method: 'GET', url: '/healthz' })).status).toBe(200);

    answer();
    await h.until(async () => (await readyz()).status === 200);
    expect((await readyz()).body).toEqual({ status: 'ready', checks: { redis: 'ok', workers: 'ok' } });
    await h.until(async () => {
      const all = await allDeliveries(h, sub.id);
      return all.length === 3 && all.every((d) => d.status === 'succeeded');
    });
    expect(await stallMetrics()).toEqual({ stalled: 0, fullSeconds: 0 });
  });
});
