// Fan-out: one event job becomes one delivery job per matching subscription (plus the event's
// own deliveryReport destination, and the platform's ops URL for operational events), added in
// bulk with deterministic ids so a retried fan-out never duplicates. The event is stored once,
// beside its records; jobs carry only its id.
import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { isFinal, isOperational, statusOf, type HooklineEvent } from '../domain/event.js';
import { deliveryId } from '../domain/ids.js';
import { matches } from '../domain/matching.js';
import type { Subscription } from '../domain/subscription.js';
import type { Keys } from '../redis/client.js';
import type { HistoryStore } from '../store/history/history-store.js';
import {
  execAll,
  type DeliveryStore,
  type NewDelivery,
  type PendingBatchItem,
} from '../store/delivery-store.js';
import { MARK_REDRIVEN } from '../store/mark-redriven.js';
import type { SubscriptionCache } from '../store/subscription-cache.js';
import { fanoutSpans, type FanoutSpans } from '../telemetry/spans.js';
import { tracer } from '../telemetry/tracing.js';
import { callSteps, handOffKey, type TenantPriority } from './tenant-priority.js';
import { deliveryJobOptions, JOB, jobData, type DeliveryJobData, type DirectItem } from './jobs.js';
import { markField, OPS_MAX_RETRIES, OPS_TARGET, REPORT_MAX_RETRIES, REPORT_TARGET } from './targets.js';

// Re-exported for the API (recovery, presentation), ops-events and tests, which import them from
// here; new code imports ./targets.js.

export interface FanoutDeps {
  redis: Redis;
  keys: Keys;
  subscriptions: SubscriptionCache;
  deliveries: DeliveryStore;
  queue: Queue<DeliveryJobData>;
  /** Makes first attempts in this process (src/pipeline/direct.ts); absent, every delivery is a job. */
  direct?: { run(items: DirectItem[]): Promise<void>; max: number };
  /** OPS_WEBHOOK_URL is set: operational events go there too. */
  opsWebhook?: boolean;
  /** Counts deliveries created `superseded` (a later status of their message was delivered). */
  onSuperseded?: (count: number) => void;
  /**
   * The PostgreSQL history. A fan-out run again (its process died) asks it which deliveries
   * already ended and moved out of Redis, so that it does not create them again.
   */
  history?: Pick<HistoryStore, 'getEvent'>;
  /** Lighter tenants first (./tenant-priority.ts): a heavy tenant's record writes wait their turn. */
  priority?: TenantPriority;
}

/**
 * Ids of the batch's deliveries that ended and moved to PostgreSQL (a re-run fan-out's question):
 * created from the event's acceptance on, so not those of an earlier event that reused the id.
 * PostgreSQL unreachable: none (the fan-out goes on; what ended may be sent again, at least once).
 */
async function movedDeliveries(
  history: Pick<HistoryStore, 'getEvent'>,
  batch: HooklineEvent[],
): Promise<Set<string>> {
  try {
    const found = await Promise.all(batch.map((e) => history.getEvent(e.tenantId, e.id)));
    return new Set(
      found.flatMap((f, i) =>
        (f?.deliveries ?? []).filter((d) => Date.parse(d.createdAt) >= batch[i]!.acceptedAt).map((d) => d.id),
      ),
    );
  } catch {
    return new Set();
  }
}

function wantsReport(event: HooklineEvent): boolean {
  const r = event.deliveryReport;
  if (!r) return false;
  if ((r.reportType ?? 'all') === 'final') return !statusOf(event.type) || isFinal(event.type);
  return true;
}

/** What a delivery id derives from: the subscription, or the event's own report destination. */
export const destinationKey = (eventId: string, subscriptionId: string) =>
  subscriptionId === REPORT_TARGET ? `${REPORT_TARGET}:${eventId}` : subscriptionId;

export interface Destination {
  subscriptionId: string;
  maxRetries: number;
  target?: string;
  /** The subscription's `dropStaleStatuses` (absent: true). */
  dropStaleStatuses?: boolean;
  /** The subscription's own `maxInFlight` (absent: MAX_IN_FLIGHT_PER_SUBSCRIPTION). */
  maxInFlight?: number;
}

/**
 * Queues a new attempt series for one (event, destination): a new delivery, with its own id and
 * a full set of attempts, linked to the one it re-drives (`prev`; none for a first delivery).
 * The id is derived from `prev`, so re-driving it again — say after a crash half-way — re-creates
 * the same delivery and adds its job only while it is still pending. `created` is false then,
 * and for a delivery created `superseded` (a later status of its message was delivered there):
 * nothing is queued for it. Without `prev` the job is added only by the call that created the record.
 */
export async function redrive(
  deps: Pick<FanoutDeps, 'redis' | 'keys' | 'deliveries' | 'queue' | 'onSuperseded'> & {
    /** The PostgreSQL history: links `prev` there when its record has moved out of Redis. */
    history?: Pick<HistoryStore, 'markRedriven'>;
  },
  event: HooklineEvent,
  to: Destination,
  prev?: { id: string; series?: number },
): Promise<{ id: string; created: boolean }> {
  const series = prev ? (prev.series ?? 0) + 1 : 0;
  const id = deliveryId(event.tenantId, event.id, destinationKey(event.id, to.subscriptionId), series);
  const ttl = deps.deliveries.ttlSeconds;
  MARK_REDRIVEN.define(deps.redis);
  const pipe = deps.redis.pipeline();
  if (prev) MARK_REDRIVEN.queue(pipe, [deps.keys.delivery(prev.id)], [id]);
  const statusesOf = deps.deliveries.addPending(
    pipe,
    [
      {
        event,
        deliveries: [
          {
            id,
            eventId: event.id,
            subscriptionId: to.subscriptionId,
            tenantId: event.tenantId,
            target: to.target,
            series,
            retryOf: prev?.id,
            markField: markField(event, to.subscriptionId, to.dropStaleStatuses),
          },
        ],
      },
    ],
    Date.now(),
  );
  const replies = await execAll(pipe);
  if (statusesOf.dropped(replies) > 0) {
    deps.onSuperseded?.(1);
    return { id, created: false };
  }
  // A first delivery (series 0) still pending that this call did not create is its fan-out's,
  // which may be attempting it directly: queueing a job too would send it twice.
  const pending = prev ? statusesOf(replies)[0] === 'pending' : statusesOf.fresh(replies)[0]!;
  if (pending)
    await deps.queue.add(
      JOB.deliver,
      jobData(id, to.subscriptionId, event),
      deliveryJobOptions(id, to.maxRetries, ttl),
    );
  if (!prev) return { id, created: pending };
  let linked = replies[0] === 1;
  if (replies[0] === -1) linked = deps.history ? await deps.history.markRedriven(prev.id, id) : pending;
  return { id, created: linked };
}

/**
 * Fans a batch of events out (one events-queue job per publish call): the record writes
 * (PENDING_SLICE deliveries a round trip), then the first attempts of up to `direct.max` new
 * deliveries made here and one addBulk for the others. Resolves when every direct attempt is done or handed to a job. Returns the
 * number of deliveries started (queued or attempted).
 */
export async function fanOut(
  deps: FanoutDeps,
  batch: HooklineEvent[],
  opts: {
    rerun?: boolean;
    /** Each event's traceparent from its events job (tracing on where it was published). */
    traceparents?: (string | undefined)[];
  } = {},
): Promise<number> {
  if (!tracer) return fanOutBatch(deps, batch, opts.rerun);
  // One `hookline.fanout` span per event; its deliveries' attempts go under it.
  const spans = fanoutSpans(batch, opts.traceparents);
  try {
    const started = await fanOutBatch(deps, batch, opts.rerun, spans);
    spans.end(started);
    return started;
  } catch (err) {
    spans.end(0, err);
    throw err;
  }
}

async function fanOutBatch(
  deps: FanoutDeps,
  batch: HooklineEvent[],
  rerun?: boolean,
  spans?: Pick<FanoutSpans, 'parents' | 'contexts'>,
): Promise<number> {
  const prio = deps.priority;
  const first = batch[0];
  if (!prio || !first) return fanOutSteps(deps, batch, rerun, spans);
  // The call's accepting steps, handed off, end here, once these have begun (no moment without
  // a step between them). These last until its attempts have begun theirs.
  const steps = callSteps(prio, batch, { units: false, wait: true });
  prio.taken(handOffKey(first));
  try {
    // The call's turns: before its records, and between their slices (one budget for all).
    const wait = steps.between();
    if (wait) await wait;
    return await fanOutSteps(deps, batch, rerun, spans, { written: steps.end, between: steps.between });
  } finally {
    steps.end();
  }
}

async function fanOutSteps(
  deps: FanoutDeps,
  batch: HooklineEvent[],
  rerun?: boolean,
  spans?: Pick<FanoutSpans, 'parents' | 'contexts'>,
  /** Its tenant's turns: between record slices, and the end of its step once its attempts began. */
  turns?: { written: () => void; between: () => Promise<void> | undefined },
): Promise<number> {
  const ttl = deps.deliveries.ttlSeconds;
  // Run again after a crash: what ended meanwhile may have left Redis for PostgreSQL already.
  const moved = rerun && deps.history ? await movedDeliveries(deps.history, batch) : undefined;
  const pending: PendingBatchItem[] = [];
  const planned: DirectItem[] = [];
  for (const [i, event] of batch.entries()) {
    const parent = spans?.parents[i];
    const targets: Destination[] = (await deps.subscriptions.forTenant(event.tenantId))
      .filter((s) => matches(s, event))
      .map((s: Subscription) => ({
        subscriptionId: s.id,
        maxRetries: s.maxRetries,
        dropStaleStatuses: s.dropStaleStatuses,
        maxInFlight: s.maxInFlight,
      }));
    if (wantsReport(event))
      targets.push({
        subscriptionId: REPORT_TARGET,
        maxRetries: REPORT_MAX_RETRIES,
        target: 'deliveryReport',
      });
    if (deps.opsWebhook && isOperational(event.type))
      targets.push({ subscriptionId: OPS_TARGET, maxRetries: OPS_MAX_RETRIES, target: OPS_TARGET });
    const deliveries: NewDelivery[] = [];
    for (const t of targets) {
      const id = deliveryId(event.tenantId, event.id, destinationKey(event.id, t.subscriptionId));
      if (moved?.has(id)) continue;
      deliveries.push({
        id,
        eventId: event.id,
        subscriptionId: t.subscriptionId,
        tenantId: event.tenantId,
        target: t.target,
        markField: markField(event, t.subscriptionId, t.dropStaleStatuses),
      });
      const data = jobData(id, t.subscriptionId, event);
      if (parent) data.p = parent;
      planned.push({
        event,
        data,
        maxRetries: t.maxRetries,
        ...(t.maxInFlight === undefined ? {} : { maxInFlight: t.maxInFlight }),
        ...(spans && { parent: spans.contexts[i] }),
      });
    }
    pending.push({ event, deliveries });
  }
  // PENDING_SLICE deliveries a round trip: a tenant's fan-out of hundreds holds Redis for a few
  // ms at a time, not for all of them at once. A failed write throws: the fan-out job is retried
  // rather than completed with nothing queued.
  const { statuses, fresh, dropped } = await deps.deliveries.writePending(
    pending,
    Date.now(),
    turns?.between,
  );
  // A re-run fan-out re-adds only deliveries still pending (BullMQ ignores a job id it
  // still holds); finished ones were removed from the queue and must not run twice. Only
  // records this run created are attempted directly: an older pending one may have a job.
  if (dropped > 0) deps.onSuperseded?.(dropped);
  const direct: DirectItem[] = [];
  const jobs: { name: string; data: DeliveryJobData; opts: JobsOptions }[] = [];
  const max = deps.direct?.max ?? 0;
  planned.forEach((p, i) => {
    if (fresh[i] && direct.length < max) direct.push(p);
    else if (statuses[i] === 'pending')
      jobs.push({ name: JOB.deliver, data: p.data, opts: deliveryJobOptions(p.data.d, p.maxRetries, ttl) });
  });
  if (jobs.length > 0) await deps.queue.addBulk(jobs);
  // The step ends once the attempts have begun theirs (those with a free slot, at once).
  const attempts = direct.length > 0 ? deps.direct!.run(direct) : undefined;
  turns?.written();
  if (attempts) await attempts;
  return jobs.length + direct.length;
}
