// Wires the events queue to the fan-out (src/pipeline/fanout.ts), which makes the first attempts of
// new deliveries itself through `direct` (src/pipeline/direct.ts).
import { Worker } from 'bullmq';
import type { Context } from '../context.js';
import type { DirectDelivery } from '../direct.js';
import { fanOut } from '../fanout.js';
import { EVENTS_QUEUE, jobEvents, jobTraceparents, type EventJobData } from '../jobs.js';
import { STALL_RECOVERY } from './delivery-worker.js';
import { logQueueErrors } from '../queue-errors.js';

export function startFanoutWorker(ctx: Context, direct?: DirectDelivery): Worker<EventJobData, number> {
  const deps = {
    redis: ctx.redis,
    keys: ctx.keys,
    subscriptions: ctx.subscriptions,
    deliveries: ctx.deliveries,
    queue: ctx.deliveriesQueue,
    direct:
      direct && ctx.config.FANOUT_DIRECT_MAX > 0
        ? { run: direct.run, max: ctx.config.FANOUT_DIRECT_MAX }
        : undefined,
    opsWebhook: ctx.config.OPS_WEBHOOK_URL !== undefined,
    onSuperseded: (count: number) => ctx.metrics.deliveriesSuperseded(count),
    history: ctx.historyStore,
    priority: ctx.priority,
  };
  // attemptsStarted > 1: this job ran before (a process died under it, or it failed).
  const run = (job: { data: EventJobData; attemptsStarted: number }) =>
    fanOut(deps, jobEvents(job.data), {
      rerun: job.attemptsStarted > 1,
      traceparents: jobTraceparents(job.data),
    });
  // Calls accepted in this process hand their step to the fan-out here (tenant-priority.ts).
  ctx.priority.fanOutHere();
  const worker = new Worker<EventJobData, number>(EVENTS_QUEUE, run, {
    connection: ctx.workerConnection(),
    prefix: ctx.config.REDIS_PREFIX,
    concurrency: ctx.config.FANOUT_CONCURRENCY,
    maxStalledCount: 1000,
    ...STALL_RECOVERY,
  });
  worker.on('failed', (job, err) =>
    ctx.logger.error({ err, eventIds: job ? jobEvents(job.data).map((e) => e.id) : [] }, 'fan-out failed'),
  );
  logQueueErrors(worker, ctx.logger, 'fan-out worker');
  return worker;
}
