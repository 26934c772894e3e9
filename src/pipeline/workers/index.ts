// Starts every worker of this process and stops them gracefully: no new jobs, in-flight
// deliveries finish (or, past the shutdown timeout, go back to the queue as stalled jobs).
import type { Worker } from 'bullmq';
import type { Context } from '../context.js';
import { createDirectDelivery, WATCH_DELAY_MS } from '../direct.js';
import { startParkingSweep } from '../parked.js';
import { Slots } from '../slots.js';
import { stallThresholdMs, watchStall, type StallState } from '../stall.js';
import { deliveryDeps, startDeliveryWorker } from './delivery-worker.js';
import { startFanoutWorker } from './fanout-worker.js';

export interface RunningWorkers {
  workers: Worker[];
  /** The process's delivery slots (requests in flight to subscribers, and who waits for one). */
  slots: Slots;
  /** Whether the slots are stalled (all busy, none freed past DELIVERY_STALL_MS): readiness, metrics. */
  stall: () => StallState;
  close(): Promise<void>;
}

export async function startWorkers(ctx: Context): Promise<RunningWorkers> {
  // DELIVERY_CONCURRENCY bounds the requests in flight: delivery jobs and direct attempts together.
  const slots = new Slots(ctx.config.DELIVERY_CONCURRENCY);
  const stall = watchStall(slots, stallThresholdMs(ctx.config), ctx.logger);
  ctx.metrics.trackStall(stall);
  const deps = deliveryDeps(ctx);
  const direct = createDirectDelivery(deps, slots, {
    detachMs: ctx.config.FANOUT_DIRECT_DETACH_MS,
    watchDelayMs: WATCH_DELAY_MS,
    defaultMaxInFlight: ctx.config.MAX_IN_FLIGHT_PER_SUBSCRIPTION,
  });
  const workers: Worker[] = [startFanoutWorker(ctx, direct), startDeliveryWorker(ctx, slots, deps)];
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  // Deliveries parked over a cap whose leases expired (a killed process's) are released here.
  const stopSweep = startParkingSweep(ctx);
  return {
    workers,
    slots,
    stall,
    async close() {
      // Direct deliveries not started yet are queued for any worker; those under way finish.
      direct.stop();
      stopSweep();
      const graceful = Promise.all(workers.map((w) => w.close())).then(() => direct.drain());
      const timeout = new Promise<'timeout'>((r) =>
        setTimeout(r, ctx.config.SHUTDOWN_TIMEOUT_MS, 'timeout').unref(),
      );
      if ((await Promise.race([graceful, timeout])) === 'timeout') {
        ctx.logger.warn('shutdown timeout: in-flight jobs go back to the queue');
        // A forced close can itself wait on a connection that never recovered (seen after a
        // Redis restart): bound it too; ctx.close() then drops the worker connections.
        const forced = Promise.all(workers.map((w) => w.close(true)));
        const bound = new Promise<void>((r) => setTimeout(r, 2_000).unref());
        await Promise.race([forced, bound]);
      }
    },
  };
}
