// Fair slots (src/pipeline/slots.ts) end to end: a flood on one subscription, to a receiver that
// takes 100 ms per request, keeps every slot of the process busy with hundreds more waiting; a
// trickle on another subscription still gets each delivery through within about one turnover.
// With one arrival-order lane for all (before), each trickle delivery waited for the whole flood.
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness } from '../helpers/harness.js';
import { startReceiver, type Reply } from '../helpers/receiver.js';
import { makeEvents, publish, subscribe, uniqueTenant } from '../resilience/support.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

const FLOOD = 300;
const SLOW_MS = 100;

describe('fair delivery slots', () => {
  it('a trickle on one subscription stays fast while a flood on another fills every slot', async () => {
    let slow = true;
    const flood = await startReceiver(
      () =>
        new Promise<Reply>((resolve) =>
          setTimeout(() => resolve({ status: 200 }), slow ? SLOW_MS : 0).unref(),
        ),
    );
    open.push(flood);
    const trickle = await startReceiver();
    open.push(trickle);
    // No in-flight cap in the way (it would hold the flood back before the slots): the slots'
    // share is what is measured here.
    const h = await startHarness({ DELIVERY_CONCURRENCY: '4', MAX_IN_FLIGHT_PER_SUBSCRIPTION: '1000' });
    open.push(h);
    const [a, b] = [uniqueTenant('flood'), uniqueTenant('trickle')];
    await subscribe(h, a, `${flood.url}/flood`);
    await subscribe(h, b, `${trickle.url}/trickle`);

    // One fan-out of 300 direct attempts: 4 run, the rest wait for a slot (~7.5 s of work).
    await publish(h, makeEvents(a, FLOOD));
    const slots = h.hookline.workers!.slots;
    await h.until(() => slots.waiting >= FLOOD - 50);

    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      await publish(h, makeEvents(b, 1));
      await trickle.waitFor(i + 1, { timeoutMs: 15_000 });
      latencies.push(trickle.requests[i]!.at - t0);
    }
    // One turnover of a 100 ms slot, plus the API and the fan-out; one FIFO lane for all made the
    // first wait for the whole flood (7.9 s when tried).
    expect(Math.max(...latencies), `trickle latencies ${latencies.join(', ')} ms`).toBeLessThan(1_000);
    // The flood was still backed up all along: the trickle did not just come after it.
    expect(slots.waiting).toBeGreaterThan(100);
    expect(flood.requests.length).toBeLessThan(FLOOD - 100);

    // The flood is not lost to fairness: all of it arrives.
    slow = false;
    await flood.waitFor(FLOOD, { timeoutMs: 30_000 });
  });
});
