// The per-subscription in-flight cap (maxInFlight), counted in Redis across processes: two
// Hookline instances on one Redis never exceed it together; deliveries over it are parked in
// arrival order, spend no attempt and show `pending` with heldReason; the API validates the field.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { GATE_SLOW_MS } from '../../src/pipeline/direct.js';
import { createInFlightCap } from '../../src/resilience/in-flight.js';
import { startHarness, useRedisPrefix, type Harness } from '../helpers/harness.js';
import {
  allDeliveries,
  countScripts,
  makeEvents,
  publish,
  startPair,
  subscribe,
  uniqueTenant,
} from './support.js';

const open: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const o of open.reverse()) await o.close();
});

interface ConcurrencyReceiver {
  url: string;
  /** webhook-id of every request, in arrival order. */
  ids: string[];
  /** Requests under way now, and the most at once. */
  current: number;
  most: number;
  /** Answers 200 after delayMs; `hold(true)` keeps requests unanswered until `hold(false)`. */
  hold(on: boolean): void;
  close(): Promise<void>;
}

async function concurrencyReceiver(delayMs: number): Promise<ConcurrencyReceiver> {
  let holding = false;
  const held: (() => void)[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      rx.ids.push(String(req.headers['webhook-id'] ?? ''));
      rx.current++;
      rx.most = Math.max(rx.most, rx.current);
      const answer = () =>
        setTimeout(() => {
          rx.current--;
          res.writeHead(200).end('ok');
        }, delayMs);
      if (holding) held.push(answer);
      else answer();
    });
  };
  const server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const rx: ConcurrencyReceiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ids: [],
    current: 0,
    most: 0,
    hold(on) {
      holding = on;
      if (!on) for (const a of held.splice(0)) a();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  open.push(rx);
  return rx;
}

const pair = (overrides: Record<string, string> = {}) => startPair(open, overrides);

const parkedCount = (h: Harness, subId: string) =>
  h.hookline.ctx.redis.zcard(h.hookline.ctx.keys.parked(subId));

describe('in-flight cap across two processes', () => {
  it('a slow receiver never sees more than maxInFlight requests at once; each delivery is sent once', async () => {
    const [a] = await pair();
    const rx = await concurrencyReceiver(150);
    const tenant = uniqueTenant('cap');
    const sub = await subscribe(a, tenant, `${rx.url}/cap`, { maxInFlight: 3, maxRetries: 0 });
    // Several publish calls, so both instances fan out and both run parked deliveries' jobs.
    const events = makeEvents(tenant, 40);
    for (let i = 0; i < events.length; i += 5) await publish(a, events.slice(i, i + 5));
    const records = await a.until(async () => {
      const all = await allDeliveries(a, sub.id);
      return all.length === 40 && all.every((d) => d.status === 'succeeded') && all;
    }, 30_000);
    console.log(`in-flight cap 3 over two instances: at most ${rx.most} at once, ${rx.ids.length} requests`);
    expect(rx.most).toBeLessThanOrEqual(3);
    expect(rx.most).toBe(3);
    expect(rx.ids).toHaveLength(40);
    expect(records.every((d) => d.attempts.length === 1)).toBe(true);
    expect(await parkedCount(a, sub.id)).toBe(0);
  });

  it('a slow subscriber at its cap never starves a fast one', async () => {
    // Concurrency 8 per process: the slow subscriber holds at most 2 of them.
    const h = await startHarness({ DELIVERY_CONCURRENCY: '8' });
    open.push(h);
    const slow = await concurrencyReceiver(1_000);
    const fast = await concurrencyReceiver(0);
    const tenant = uniqueTenant('fair');
    await subscribe(h, tenant, `${slow.url}/slow`, { events: ['message.sent'], maxInFlight: 2 });
    await subscribe(h, tenant, `${fast.url}/fast`, { events: ['message.delivered'] });
    await publish(
      h,
      makeEvents(tenant, 40).map((e) => ({ ...e, type: 'message.sent' })),
    );
    await h.until(() => slow.ids.length >= 1, 5_000);
    const start = Date.now();
    await publish(h, makeEvents(tenant, 20));
    await h.until(() => fast.ids.length >= 20 && fast.current === 0, 5_000);
    const fastMs = Date.now() - start;
    console.log(
      `20 fast deliveries in ${fastMs} ms behind 40 slow ones (1 s each, at most ${slow.most} at once)`,
    );
    expect(fastMs).toBeLessThan(2_500);
    expect(slow.most).toBeLessThanOrEqual(2);
  });
});

describe('the local gate of direct first attempts', () => {
  it('a burst to a fast subscriber waits at the gate: within the cap, and not one delivery job', async () => {
    const h = await startHarness();
    open.push(h);
    const rx = await concurrencyReceiver(20);
    const tenant = uniqueTenant('gate');
    const sub = await subscribe(h, tenant, `${rx.url}/gate`, { maxInFlight: 2 });
    // Counts what is queued on the deliveries queue (calls pass through to BullMQ).
    const q = h.hookline.ctx.deliveriesQueue;
    const adds = [vi.spyOn(q, 'add'), vi.spyOn(q, 'addBulk')];
    await publish(h, makeEvents(tenant, 30));
    const records = await h.until(async () => {
      const all = await allDeliveries(h, sub.id);
      return all.length === 30 && all.every((d) => d.status === 'succeeded') && all;
    }, 20_000);
    expect(rx.most).toBe(2);
    expect(records.every((d) => d.attempts.length === 1)).toBe(true);
    // Without the gate, 28 of the 30 direct attempts are parked in Redis, each as a job.
    expect(adds.map((a) => a.mock.calls.length)).toEqual([0, 0]);
  });

  it('a slow subscriber’s full gate hands its waiters to jobs at once: the fan-out does not wait', async () => {
    const h = await startHarness();
    open.push(h);
    const rx = await concurrencyReceiver(0);
    const tenant = uniqueTenant('slowgate');
    const sub = await subscribe(h, tenant, `${rx.url}/slow`, { maxInFlight: 1 });
    const fanouts: number[] = [];
    h.hookline.workers!.workers[0]!.on('completed', () => fanouts.push(Date.now()));
    rx.hold(true);
    await publish(h, makeEvents(tenant, 1));
    await h.until(() => rx.ids.length === 1, 10_000);
    const arrived = Date.now();
    // Past GATE_SLOW_MS under way: the gate now counts its subscriber as slow.
    await h.until(() => Date.now() - arrived > GATE_SLOW_MS + 100, 5_000);
    const before = fanouts.length;
    const published = Date.now();
    await publish(h, makeEvents(tenant, 3));
    // Its fan-out ends while the first request is still unanswered; the three wait parked.
    await h.until(() => fanouts.length > before, 5_000);
    expect(fanouts.at(-1)! - published).toBeLessThan(GATE_SLOW_MS);
    await h.until(async () => (await parkedCount(h, sub.id)) === 3, 10_000);
    expect(rx.ids).toHaveLength(1);
    rx.hold(false);
    await h.until(async () => {
      const all = await allDeliveries(h, sub.id);
      return all.length === 4 && all.every((d) => d.status === 'succeeded');
    }, 20_000);
    expect(rx.most).toBe(1);
  });
});

describe('parking', () => {
  it('maxInFlight 1: deliveries go in arrival order, none lost, one attempt each; parked ones show heldReason', async () => {
    const h = await startHarness();
    open.push(h);
    const rx = await concurrencyReceiver(20);
    const tenant = uniqueTenant('order');
    const sub = await subscribe(h, tenant, `${rx.url}/order`, { maxInFlight: 1 });
    const events = makeEvents(tenant, 8);
    // The first is held at the receiver; each next one is published once the one before is parked.
    rx.hold(true);
    await publish(h, events.slice(0, 1));
    await h.until(() => rx.ids.length === 1, 10_000);
    for (let i = 1; i < events.length; i++) {
      await publish(h, events.slice(i, i + 1));
      await h.until(async () => (await parkedCount(h, sub.id)) === i, 10_000);
    }
    const parked = await allDeliveries(h, sub.id, 'pending');
    const shown = await h.request<{ status: string; heldReason?: string; attempts: unknown[] }>({
      method: 'GET',
      url: `/v1/deliveries/${parked.find((d) => d.eventId === events[3]!.id)!.id}`,
    });
    expect(shown.body).toMatchObject({ status: 'pending', heldReason: 'in_flight_cap', attempts: [] });
    expect(parked.filter((d) => (d as { heldReason?: string }).heldReason === 'in_flight_cap')).toHaveLength(
      7,
    );
    expect(rx.ids).toHaveLength(1);
    const metrics = await h.hookline.ctx.metrics.scrape();
    expect(metrics).toContain('\nhookline_deliveries_parked 7\n');
    expect(metrics).toContain(`hookline_deliveries_parked_by_subscription{subscription_id="${sub.id}"} 7`);
    expect(metrics).toContain(`hookline_in_flight_by_subscription{subscription_id="${sub.id}"} 1`);

    rx.hold(false);
    const records = await h.until(async () => {
      const all = await allDeliveries(h, sub.id);
      return all.length === 8 && all.every((d) => d.status === 'succeeded') && all;
    }, 20_000);
    expect(rx.ids).toEqual(events.map((e) => e.id));
    expect(rx.most).toBe(1);
    expect(records.every((d) => d.attempts.length === 1)).toBe(true);
    expect(records.some((d) => 'heldReason' in d)).toBe(false);
  });
});

describe('a run that throws', () => {
  it('gives its lease back at once (the next delivery does not wait for the lease to expire)', async () => {
    const h = await startHarness();
    open.push(h);
    const rx = await concurrencyReceiver(0);
    const tenant = uniqueTenant('throw');
    const sub = await subscribe(h, tenant, `${rx.url}/throw`, { maxInFlight: 1 });
    // Throws after the first attempt is recorded, before any other hook hears of it.
    let thrown = 0;
    h.hookline.ctx.deliveryHooks.unshift({
      afterAttempt() {
        if (thrown++ === 0) throw new Error('observer failed');
      },
    });
    const events = makeEvents(tenant, 2);
    rx.hold(true);
    await publish(h, events.slice(0, 1));
    await h.until(() => rx.ids.length === 1, 10_000);
    await publish(h, events.slice(1));
    await h.until(async () => (await parkedCount(h, sub.id)) === 1, 10_000);
    const released = Date.now();
    rx.hold(false);
    await h.until(() => rx.ids.length === 2, 10_000);
    // The lease is IN_FLIGHT_LEASE_MS (20 s): a leaked one would hold the second back that long.
    expect(Date.now() - released).toBeLessThan(3_000);
    expect(thrown).toBeGreaterThanOrEqual(1);
  });
});

describe('the maxInFlight field', () => {
  it('is validated (1-1000, 400 naming the field), shows its default, and PATCH sets and removes it', async () => {
    const h = await startHarness({ MAX_IN_FLIGHT_PER_SUBSCRIPTION: '7' });
    open.push(h);
    const tenant = uniqueTenant('field');
    for (const bad of [0, 1001, 2.5, -1]) {
      const res = await h.request<{ code: string; errors: { path: string }[] }>({
        method: 'POST',
        url: `/v1/subscriptions?tenantId=${tenant}`,
        body: { webhookUrl: 'http://127.0.0.1:9/x', events: ['*'], maxInFlight: bad },
      });
      expect(res.status, res.raw).toBe(400);
      expect(res.body.errors.map((e) => e.path)).toContain('/maxInFlight');
    }
    const sub = await subscribe(h, tenant, 'http://127.0.0.1:9/x');
    const get = () =>
      h.request<{ maxInFlight: number }>({ method: 'GET', url: `/v1/subscriptions/${sub.id}` });
    expect((await get()).body.maxInFlight).toBe(7);
    const patch = (body: unknown) =>
      h.request<{ maxInFlight: number }>({ method: 'PATCH', url: `/v1/subscriptions/${sub.id}`, body });
    expect((await patch({ maxInFlight: 1000 })).body.maxInFlight).toBe(1000);
    expect((await get()).body.maxInFlight).toBe(1000);
    const tooMany = await patch({ maxInFlight: 1001 });
    expect(tooMany.status).toBe(400);
    expect(tooMany.raw).toContain('/maxInFlight');
    expect((await patch({ maxInFlight: null })).body.maxInFlight).toBe(7);
  });
});

describe('one script call with several subscriptions mixed (the scripts count per subscription)', () => {
  const { redis, keys } = useRedisPrefix();
  const cap = createInFlightCap(redis, keys, { leaseMs: 20_000 });
  afterAll(() => cap.close());

  /** Script calls sent (EVALSHA/EVAL) on the connection while `run` runs. */
  async function scriptCalls(run: () => Promise<unknown>): Promise<number> {
    const scripts = countScripts(redis);
    try {
      await run();
    } finally {
      scripts.restore();
    }
    return scripts.calls();
  }
  /** The acquires in one turn (cap 2), in this order: [go, handed] each. */
  const acquireAll = async (calls: [string, string][]) =>
    (await Promise.all(calls.map(([sub, id]) => cap.acquire(sub, id, 2)))).map((v) => [v.go, v.handed]);
  const leases = async (sub: string) => (await redis.zrange(keys.inFlight(sub), '0', '-1')).sort();
  const parked = (sub: string) => redis.zrange(keys.parked(sub), '0', '-1');
  const waiting = async () => (await redis.smembers(keys.parkedSubs())).sort();
  /** The leases of a subscription expire (their process died). */
  const expire = (sub: string, ids: string[]) =>
    redis.zadd(keys.inFlight(sub), 'XX', ...ids.flatMap((id) => ['1', id]));

  it('cap 2: acquires of two subscriptions interleaved in one turn, then releases in one turn, oldest parked first', async () => {
    // Scripts loaded first: a first call's NOSCRIPT fallback would count twice.
    await cap.release('mix_warm', undefined, 1);
    await cap.acquire('mix_warm', 'w', 1);
    const go: [boolean, string[]] = [true, []];
    const park: [boolean, string[]] = [false, []];
    let verdicts: unknown[] = [];
    // a0 twice: the second is a renewal (a lease taken earlier in the call), not counted again.
    const first = () =>
      acquireAll([
        ['mix_A', 'a0'],
        ['mix_B', 'b0'],
        ['mix_A', 'a0'],
        ['mix_A', 'a1'],
        ['mix_B', 'b1'],
        ['mix_A', 'a2'],
        ['mix_B', 'b2'],
        ['mix_A', 'a3'],
        ['mix_A', 'a4'],
      ]);
    expect(await scriptCalls(async () => (verdicts = await first()))).toBe(1);
    expect(verdicts).toEqual([go, go, go, go, go, park, park, park, park]);
    expect(await redis.zcard(keys.inFlight('mix_A'))).toBe(2);
    expect(await redis.zcard(keys.inFlight('mix_B'))).toBe(2);
    expect(await parked('mix_A')).toEqual(['a2', 'a3', 'a4']);
    expect(await parked('mix_B')).toEqual(['b2']);
    expect(await waiting()).toEqual(['mix_A', 'mix_B']);

    // One turn of releases: A's two leases and one of B's. The room goes to the oldest parked;
    // a subscription's handed ids come on its last item of the call.
    let handed: string[][] = [];
    const releases = () =>
      Promise.all([
        cap.release('mix_A', 'a0', 2),
        cap.release('mix_B', 'b0', 2),
        cap.release('mix_A', 'a1', 2),
      ]);
    expect(await scriptCalls(async () => (handed = await releases()))).toBe(1);
    expect(handed).toEqual([[], ['b2'], ['a2', 'a3']]);
    expect(await leases('mix_A')).toEqual(['a2', 'a3']);
    expect(await leases('mix_B')).toEqual(['b1', 'b2']);
    expect(await parked('mix_A')).toEqual(['a4']);
    expect(await parked('mix_B')).toEqual([]);
    expect(await waiting()).toEqual(['mix_A']);

    // The handed ones come back (renewals: go at the cap), beside newcomers of A, which park
    // behind a4, and a4 itself waking on its own (still parked, its place kept).
    verdicts = await acquireAll([
      ['mix_A', 'a2'],
      ['mix_A', 'a5'],
      ['mix_B', 'b2'],
      ['mix_A', 'a3'],
      ['mix_A', 'a4'],
      ['mix_A', 'a6'],
    ]);
    expect(verdicts).toEqual([go, park, go, go, park, park]);
    expect(await leases('mix_A')).toEqual(['a2', 'a3']);
    expect(await parked('mix_A')).toEqual(['a4', 'a5', 'a6']);

    // A's leases expire: a newcomer's acquire hands the room to a4 and a5 first and parks; a6,
    // waking, finds no room. B's last leases go back in the same turn (released first), so b3 goes.
    await expire('mix_A', ['a2', 'a3']);
    const [v, gone] = await Promise.all([
      acquireAll([
        ['mix_A', 'a7'],
        ['mix_B', 'b3'],
        ['mix_A', 'a6'],
      ]),
      Promise.all([cap.release('mix_B', 'b1', 2), cap.release('mix_B', 'b2', 2)]),
    ]);
    expect(v).toEqual([[false, ['a4', 'a5']], go, park]);
    expect(gone).toEqual([[], []]);
    expect(await leases('mix_A')).toEqual(['a4', 'a5']);
    expect(await parked('mix_A')).toEqual(['a6', 'a7']);
    expect(await leases('mix_B')).toEqual(['b3']);
    expect(await waiting()).toEqual(['mix_A']);

    // a6 wakes on its own once A's leases expire again: it and the next parked one take all the
    // room, a8 stays parked, so A stays in the waiting set.
    expect(await acquireAll([['mix_A', 'a8']])).toEqual([park]);
    await expire('mix_A', ['a4', 'a5']);
    verdicts = await acquireAll([
      ['mix_B', 'b4'],
      ['mix_A', 'a6'],
    ]);
    expect(verdicts).toEqual([go, [true, ['a7']]]);
    expect(await leases('mix_A')).toEqual(['a6', 'a7']);
    expect(await parked('mix_A')).toEqual(['a8']);
    expect(await waiting()).toEqual(['mix_A']);
    // Then a8, the last one parked, takes a lease: A leaves the waiting set.
    await expire('mix_A', ['a6', 'a7']);
    verdicts = await acquireAll([
      ['mix_B', 'b3'],
      ['mix_A', 'a8'],
    ]);
    expect(verdicts).toEqual([go, go]);
    expect(await leases('mix_A')).toEqual(['a8']);
    expect(await parked('mix_A')).toEqual([]);
    expect(await waiting()).toEqual([]);
    expect(await leases('mix_B')).toEqual(['b3', 'b4']);
  });
});
