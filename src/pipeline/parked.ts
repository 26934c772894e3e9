// Deliveries parked over their subscription's in-flight cap (src/resilience/in-flight.ts) wait as
// delayed jobs that spend no attempt. A lease handed to one wakes its job (promote); a job that
// is not delayed yet (its run is still moving it there) is looked at again briefly; one that is
// gone gives the lease back. A sweep in every worker process hands out the room of leases that
// expired (a killed process's), and each parked job also wakes on its own every PARK_SAFETY_MS,
// so a lost wake-up costs time, never the delivery.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from './context.js';
import { createInFlightCap, type InFlightCap } from '../resilience/in-flight.js';

/** How long a parked delivery sleeps before it looks again by itself (jittered ±10 %). */
export const PARK_SAFETY_MS = 50_000;

export const parkMs = (random = Math.random) => Math.round(PARK_SAFETY_MS * (0.9 + 0.2 * random()));

/** How many subscriptions with parked deliveries one sweep looks at (a random sample). */
const SWEEP_BATCH = 200;

type ParkingCtx = Pick<Context, 'config' | 'logger' | 'deliveriesQueue' | 'subscriptions'>;

/** A subscription's cap: its own `maxInFlight`, else MAX_IN_FLIGHT_PER_SUBSCRIPTION. */
export const capOf = (ctx: Pick<Context, 'config'>, sub: { maxInFlight?: number }) =>
  sub.maxInFlight ?? ctx.config.MAX_IN_FLIGHT_PER_SUBSCRIPTION;

export function createParking(ctx: ParkingCtx, cap: InFlightCap) {
  /** Wakes the job of a delivery handed a lease; gives the lease back when there is none to wake. */
  async function wakeOne(subId: string, id: string, capValue: number): Promise<void> {
    for (let waitMs = 50; waitMs <= 1_600; waitMs *= 2) {
      const job = await ctx.deliveriesQueue.getJob(id);
      if (job) {
        // Promote first (the usual case: it sleeps as a delayed job); the state only when it fails.
        const promoted = await job.promote().then(
          () => true,
          () => false,
        );
        if (promoted) return;
        const state = await job.getState();
        if (state === 'delayed') continue; // it moved meanwhile: look again
        if (state === 'waiting' || state === 'prioritized' || state === 'waiting-children') return;
        if (state === 'completed' || state === 'failed') break;
        // Active: its run is parking it right now (or runs it already, holding this lease).
      }
      // No job yet: a direct attempt parked a moment ago queues its job after parking.
      await sleep(waitMs);
    }
    const job = await ctx.deliveriesQueue.getJob(id);
    if (job && (await job.isActive())) return;
    wake(subId, await cap.release(subId, id, capValue), capValue);
  }

  /** Wakes the jobs of the deliveries handed a lease (in the background; failures are logged). */
  function wake(subId: string, ids: string[], capValue: number): void {
    for (const id of ids)
      wakeOne(subId, id, capValue).catch((err: unknown) =>
        ctx.logger.warn(
          { err, deliveryId: id, subscriptionId: subId },
          'parked delivery not woken; it wakes by itself',
        ),
      );
  }

  /** Hands the room of expired leases to parked deliveries, for a sample of subscriptions. */
  async function sweep(): Promise<number> {
    const subIds = await cap.parkedSubscriptions(SWEEP_BATCH);
    let woken = 0;
    await Promise.all(
      subIds.map(async (subId) => {
        const sub = await ctx.subscriptions.get(subId);
        // Paused or disabled: they wait (and are held as such when they wake). Deleted: every
        // one is woken, to end cancelled.
        if (sub && !sub.deletedAt && sub.status !== 'active') return;
        const capValue = sub && !sub.deletedAt ? capOf(ctx, sub) : 1_000_000;
        const handed = await cap.release(subId, undefined, capValue);
        woken += handed.length;
        wake(subId, handed, capValue);
      }),
    );
    return woken;
  }

  return { wake, sweep };
}

export type Parking = ReturnType<typeof createParking>;

/**
 * The sweep of a worker process: every half lease. Answers its stop. Its own cap instance (the
 * sweep holds no leases).
 */
export function startParkingSweep(ctx: ParkingCtx & Pick<Context, 'redis' | 'keys'>): () => void {
  const cap = createInFlightCap(ctx.redis, ctx.keys, { leaseMs: ctx.config.IN_FLIGHT_LEASE_MS });
  const parking = createParking(ctx, cap);
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    parking
      .sweep()
      .then((n) => {
        if (n > 0) ctx.logger.info({ released: n }, 'parked deliveries released by the sweep');
      })
      .catch((err: unknown) => ctx.logger.warn({ err }, 'parked-delivery sweep failed'))
      .finally(() => (running = false));
  }, ctx.config.IN_FLIGHT_LEASE_MS / 2).unref();
  return () => clearInterval(timer);
}
