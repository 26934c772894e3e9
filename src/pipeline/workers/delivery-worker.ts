// Wires the deliveries queue to one run of the runner per job (src/pipeline/runner.ts).
import { Worker } from 'bullmq';
import type { Context } from '../context.js';
import { processDelivery, type DeliveryDeps } from '../runner.js';
import type { Slots } from '../slots.js';
import { backoffStrategy, DELIVERIES_QUEUE, type DeliveryJobData } from '../jobs.js';
import { opsTarget } from '../ops-events.js';
import { createSendTurns } from '../send-turns.js';
import { logQueueErrors } from '../queue-errors.js';

/**
 * Jobs of a worker that died are found by the others' stalled-job check once their lock expired:
 * within lockDuration + 2 * stalledInterval (~25 s) rather than BullMQ's default ~60 s.
 */
export const STALL_RECOVERY = { lockDuration: 15_000, stalledInterval: 5_000 } as const;

/** What a delivery needs, for the delivery worker and for a fan-out's direct attempts alike. */
export function deliveryDeps(ctx: Context): DeliveryDeps {
  return {
    redis: ctx.redis,
    keys: ctx.keys,
    box: ctx.box,
    subscriptions: ctx.subscriptions,
    subscriptionStore: ctx.subscriptionStore,
    deliveries: ctx.deliveries,
    attempt: { agent: ctx.agent, tokens: ctx.tokens },
    backoff: { baseMs: ctx.config.RETRY_BASE_MS, maxMs: ctx.config.RETRY_MAX_DELAY_MS },
    // The root logger: its path redaction looks only at `req` and `headers` keys, which the
    // per-attempt line has none of, and its secret-key check costs under 1 µs (src/logger.ts).
    logger: ctx.logger,
    hooks: ctx.deliveryHooks,
    queue: ctx.deliveriesQueue,
    ops: ctx.ops,
    opsTarget: opsTarget(ctx.config),
    onSuperseded: (count) => ctx.metrics.deliveriesSuperseded(count),
    sendTurns: createSendTurns(),
    priority: ctx.priority,
  };
}

/**
 * Each job holds one of the process's delivery slots (shared with direct attempts) while it runs,
 * waiting for one in its subscription's turn (src/pipeline/slots.ts).
 */
export function startDeliveryWorker(ctx: Context, slots: Slots, deps: DeliveryDeps): Worker<DeliveryJobData> {
  const worker = new Worker<DeliveryJobData>(
    DELIVERIES_QUEUE,
    async (job, token) => {
      await slots.wait(job.data.s);
      try {
        return await processDelivery(deps, job, token);
      } finally {
        slots.release();
      }
    },
    {
      connection: ctx.workerConnection(),
      prefix: ctx.config.REDIS_PREFIX,
      concurrency: ctx.config.DELIVERY_CONCURRENCY,
      // A worker killed mid-delivery leaves its jobs stalled; they go back to wait, many times if need be.
      maxStalledCount: 1000,
      ...STALL_RECOVERY,
      settings: { backoffStrategy: backoffStrategy(deps.backoff) },
    },
  );
  logQueueErrors(worker, ctx.logger, 'delivery worker');
  return worker;
}
