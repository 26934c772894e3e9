// Fault: the worker process holding a subscription's in-flight leases is SIGKILLed mid-request.
// Its leases expire (IN_FLIGHT_LEASE_MS) and another worker delivers the deliveries parked behind
// them within the lease plus a margin; none is lost (order: test/resilience/in-flight.test.ts).
import { expect, it } from 'vitest';
import { makeEvents, publish } from '../resilience/support.js';
import { startWorker, workerFaultRun } from './helpers.js';

const LEASE_MS = 2_000;
const run = workerFaultRun();

it(
  'SIGKILL of the lease holder: the parked deliveries go out within the lease TTL',
  { timeout: 90_000 },
  async () => {
    const { api, rx, tenant, env, workers } = await run.start({
      receiverDelayMs: 0,
      tenant: 'capkill',
      path: '/capkill',
      env: { IN_FLIGHT_LEASE_MS: String(LEASE_MS) },
    });
    const { redis, keys, deliveriesQueue } = api.hookline.ctx;
    const listed = await api.request<{ data: { id: string }[] }>({
      method: 'GET',
      url: `/v1/subscriptions?tenantId=${tenant}`,
    });
    const subId = listed.body.data[0]!.id;
    const capped = await api.request({
      method: 'PATCH',
      url: `/v1/subscriptions/${subId}`,
      body: { maxInFlight: 2 },
    });
    expect(capped.status, capped.raw).toBe(200);
    const events = makeEvents(tenant, 7);
    const hanging = new Set(events.slice(0, 2).map((e) => e.id));
    rx.mode = (id, n) => (hanging.has(id) && n === 1 ? 'hang' : 'ok');

    // Worker A takes the two requests that hang: it holds both leases.
    await publish(api, events.slice(0, 2));
    await api.until(() => rx.ids.length >= 2, 20_000);
    workers.push(await startWorker(env));
    // Five more: parked behind the cap, each as a delayed job, by whichever worker fans them out.
    await publish(api, events.slice(2));
    await api.until(async () => {
      const parked = await redis.zrange(keys.parked(subId), '0', '-1');
      if (parked.length !== 5) return false;
      const states = await Promise.all(
        parked.map(async (id) => (await deliveriesQueue.getJob(id))?.getState()),
      );
      return states.every((s) => s === 'delayed');
    }, 20_000);
    expect(rx.delivered.size).toBe(0);

    workers[0]!.child.kill('SIGKILL');
    expect((await workers[0]!.exited).signal).toBe('SIGKILL');
    const killedAt = Date.now();
    const parkedIds = events.slice(2).map((e) => e.id);
    await api.until(() => parkedIds.every((id) => rx.delivered.has(id)), LEASE_MS + 8_000);
    const tookMs = Date.now() - killedAt;
    const order = rx.ids.filter((id) => parkedIds.includes(id));
    console.log(
      `in-flight cap after SIGKILL: 5 parked deliveries out ${tookMs} ms after the kill (lease ${LEASE_MS} ms), order ${order.map((id) => id.slice(-1)).join(',')}`,
    );
    expect(tookMs).toBeLessThan(LEASE_MS + 6_000);
    expect(new Set(order)).toEqual(new Set(parkedIds));
    expect(order).toHaveLength(5);
  },
);
