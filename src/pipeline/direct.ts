// Direct first attempts: the fan-out job makes the first attempt of the deliveries it creates
// itself, in this process, instead of queueing one BullMQ job per delivery for it. Retries,
// holds and failures still become ordinary delivery jobs, so Bull Board, the held set and
// re-drives see them as before. A delivery costs a job only when its first attempt does not
// succeed: adding, fetching and finishing a job was most of a delivery's queue overhead.
//
// Each attempt is one run of the runner (src/pipeline/runner.ts) without a job: its commit
// queues the job an outcome needs (a `retry` job before the record says `retrying`, at least
// DIRECT_RETRY_MIN_DELAY_MS ahead; a `deliver` job for a hold; a `failed` job for the board).
//
// Nothing is lost when the process dies:
// - The fan-out job stays active until each of its direct deliveries is done (recorded, or
//   handed to a job). A fan-out that dies mid-way is run again by BullMQ (stalled job); the
//   re-run queues a job for every record still pending, and jobs are deduplicated by id.
// - An attempt still under way after `detachMs` no longer holds its fan-out (a hanging subscriber
//   would hold up every later fan-out otherwise). Before the fan-out completes, a `watch` job
//   (src/pipeline/jobs.ts) is queued for it: if the process dies before the attempt is recorded,
//   the watch queues the delivery.
// - A direct delivery that throws (a Redis failure) is queued as a job, deduplicated by id.
// - On shutdown, deliveries still waiting for a slot are queued as jobs at once.
//
// In-flight cap (`maxInFlight`, counted in Redis: src/resilience/in-flight.ts): a fan-out's direct
// attempts of one subscription pass a local gate of the same size before they take a slot, so a
// burst to one subscriber waits here (holding no slot) instead of being parked in Redis one by
// one. A full gate whose subscriber is slow (GATE_SLOW_MS) hands its
// waiting deliveries to jobs, which park in Redis if still over the cap: a slow subscriber never
// holds its fan-out jobs for long, nor other tenants' events behind them.
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobsOptions } from 'bullmq';
import {
  BACKOFF_TYPE,
  deliveryJobOptions,
  deliveryOf,
  JOB,
  watchJobId,
  type DeliveryJobData,
  type DirectItem,
} from './jobs.js';
import { requeueUnfinished, runDelivery, type DeliveryDeps } from './runner.js';
import { Fifo } from './fifo.js';
import type { SlotWait, Slots } from './slots.js';
import { isSubscriptionTarget } from './targets.js';

/**
 * A full gate whose attempts take this long on average, or with one under way this long,
 * hands its waiters to jobs: its subscriber is slow (a busy process's own delays stay far below).
 */
export const GATE_SLOW_MS = 1_000;

export interface DirectOptions {
  /** An attempt under way this long stops holding its fan-out job (a watch job covers it). */
  detachMs: number;
  /** When the watch job of a detached attempt runs: past the longest an attempt can take. */
  watchDelayMs: number;
  /** The local gate of a subscription without its own `maxInFlight` (MAX_IN_FLIGHT_PER_SUBSCRIPTION). */
  defaultMaxInFlight?: number;
}

/**
 * Far past the longest attempt: two requests of 30 s (a 401 from an OAuth2 subscriber is retried
 * once at once), each after up to ~22 s for a token, plus rate-limit waits and Redis latency.
 */
export const WATCH_DELAY_MS = 5 * 60_000;

export interface DirectDelivery {
  /** Attempts each item once; resolves when each is recorded, queued as a job, or detached. */
  run(items: DirectItem[]): Promise<void>;
  /** Queues the deliveries still waiting for a slot instead (shutdown); later runs queue at once. */
  stop(): void;
  /** Resolves when every attempt under way, detached ones too, has finished. */
  drain(): Promise<void>;
}

interface Task {
  item: DirectItem;
  state: 'waiting' | 'running' | 'done' | 'handed';
  detached: boolean;
  startedAt: number;
  /** When it began waiting at its subscription's gate (0: not waiting there). */
  gatedAt: number;
  gate?: Gate;
  /** Its watch job was queued (the fan-out ended while it ran). */
  watched?: boolean;
  wait: SlotWait | null;
  error?: unknown;
  settle: () => void;
}

/** A subscription's local gate: its direct attempts under way in this process, and who waits. */
interface Gate {
  subId: string;
  cap: number;
  /** Its tasks past the gate and not finished, in the order they passed. */
  passed: Set<Task>;
  queue: Fifo<Task>;
  /** Moving average of its attempts' durations (ms, from the slot to the end). */
  avgMs: number;
  /** The last `slow` answer and when it was worked out (it scans the attempts under way). */
  slow: boolean;
  slowAt: number;
}

export function createDirectDelivery(deps: DeliveryDeps, slots: Slots, opts: DirectOptions): DirectDelivery {
  const ttl = deps.deliveries.ttlSeconds;
  let stopping = false;
  const waiting = new Set<Task>();
  const underway = new Set<Promise<void>>();
  const gates = new Map<string, Gate>();

  /** Takes a slot for the task, past its subscription's gate first (it may wait there). */
  function admit(task: Task): void {
    const subId = task.item.data.s;
    const cap = isSubscriptionTarget(subId) ? (task.item.maxInFlight ?? opts.defaultMaxInFlight) : undefined;
    if (cap !== undefined) {
      let gate = gates.get(subId);
      if (!gate)
        gates.set(
          subId,
          (gate = { subId, cap, passed: new Set(), queue: new Fifo(), avgMs: 0, slow: false, slowAt: 0 }),
        );
      task.gate = gate;
      if (gate.passed.size >= cap) {
        task.gatedAt = Date.now();
        if (slow(gate, task.gatedAt)) hand(task);
        else gate.queue.push(task);
        return;
      }
      through(gate, task);
      return;
    }
    task.wait = slots.take(subId, () => start(task));
  }

  function through(gate: Gate, task: Task): void {
    task.gatedAt = 0;
    gate.passed.add(task);
    task.wait = slots.take(gate.subId, () => start(task));
  }

  /** Full, and its subscriber slow (see GATE_SLOW_MS); waiting for a slot does not count. */
  function slow(gate: Gate, now: number): boolean {
    if (gate.passed.size < gate.cap) return false;
    if (gate.avgMs >= GATE_SLOW_MS) return true;
    // Worked out at most every GATE_SLOW_MS / 20: a fan-out of thousands asks once per arrival.
    if (now - gate.slowAt < GATE_SLOW_MS / 20) return gate.slow;
    gate.slowAt = now;
    gate.slow = false;
    const since = now - GATE_SLOW_MS;
    for (const t of gate.passed)
      if (t.state === 'running' && t.startedAt <= since) {
        gate.slow = true;
        break;
      }
    return gate.slow;
  }

  /** A task past the gate finished (or never will run): the next one still waiting passes. */
  function pass(task: Task): void {
    const gate = task.gate!;
    gate.passed.delete(task);
    if (task.startedAt > 0) gate.avgMs = 0.8 * gate.avgMs + 0.2 * (Date.now() - task.startedAt);
    let next: Task | undefined;
    while ((next = gate.queue.shift()) && next.state !== 'waiting');
    if (next) through(gate, next);
    if (gate.passed.size === 0 && gate.queue.length === 0 && gates.get(gate.subId) === gate)
      gates.delete(gate.subId);
  }

  /** Hands a task still waiting at its gate to a job (its fan-out stops waiting for it). */
  function hand(task: Task): void {
    waiting.delete(task);
    task.state = 'handed';
    task.settle();
  }

  /** Attempt 1 of the delivery; its commit queues whatever job the outcome needs. */
  const attemptOne = (item: DirectItem) =>
    runDelivery(deps, {
      delivery: { id: item.data.d, data: item.data },
      event: item.event,
      attemptNo: 1,
      maxAttempts: item.maxRetries + 1,
      // Its fan-out created the record a moment ago, comparing it with its message's mark.
      staleChecked: true,
      ...(item.parent && { parent: item.parent }),
    });

  /**
   * Queues a delivery whose direct run threw, as far as its record says it still needs one: the
   * error may have come after its attempt was recorded (an afterAttempt hook, a 410's disable).
   */
  const queueAgain = (item: DirectItem) => requeueUnfinished(deps, item.data, item.maxRetries);

  /** queueAgain for a detached attempt, trying for about 30 s (Redis may be what failed). */
  async function queueSoon(item: DirectItem, err: unknown): Promise<void> {
    const deliveryId = item.data.d;
    deps.logger.warn({ err, deliveryId }, 'detached direct attempt failed; delivery queued');
    for (let waitMs = 500; ; waitMs *= 2) {
      try {
        await queueAgain(item);
        return;
      } catch (e) {
        if (waitMs > 16_000) {
          deps.logger.error({ err: e, deliveryId }, 'queueing it failed; its watch job covers it');
          return;
        }
        await sleep(waitMs);
      }
    }
  }

  /** Attempts under way and still holding their fan-outs, oldest first. */
  const holding = new Set<Task>();
  let timer: NodeJS.Timeout | undefined;
  const tickMs = Math.max(10, Math.min(opts.detachMs / 4, GATE_SLOW_MS / 4));

  /**
   * One timer for every fan-out of the process (a few times per detachMs): attempts under way too
   * long stop holding their fan-out; the waiters of a slow subscriber's full gate go to jobs.
   */
  function watchTimer(): void {
    timer ??= setInterval(() => {
      const now = Date.now();
      const old = now - opts.detachMs;
      for (const t of holding) {
        if (t.startedAt > old) break; // the rest started later
        holding.delete(t);
        t.detached = true;
        t.settle();
      }
      for (const gate of gates.values())
        if (gate.queue.length > 0 && slow(gate, now)) {
          for (const t of gate.queue.takeAll()) if (t.state === 'waiting') hand(t);
        }
      if (holding.size === 0 && waiting.size === 0) {
        clearInterval(timer);
        timer = undefined;
      }
    }, tickMs).unref();
  }

  function start(task: Task): void {
    // Only a task still waiting is handed off (stop), and its cancelled wait is never granted.
    waiting.delete(task);
    task.state = 'running';
    task.startedAt = Date.now();
    holding.add(task);
    const p: Promise<void> = attemptOne(task.item)
      .catch((err: unknown) => {
        task.error = err;
      })
      .finally(() => {
        slots.release();
        holding.delete(task);
        if (task.gate) pass(task);
        task.state = 'done';
        task.settle();
      })
      // Its fan-out no longer waits for it: queued now rather than when its watch job runs.
      .then(() => (task.detached && task.error !== undefined ? queueSoon(task.item, task.error) : undefined))
      // Recorded: its watch job has nothing left to watch (and would sit 5 min among the delayed).
      .then(() => (task.watched && task.error === undefined ? unwatch(task) : undefined))
      .finally(() => underway.delete(p));
    underway.add(p);
  }

  /** Removes the watch job of an attempt recorded after all (a failure leaves it: it expires). */
  async function unwatch(task: Task): Promise<void> {
    await deps.queue.remove(watchJobId(task.item.data.d)).catch(() => undefined);
  }

  async function queueJobs(handed: DirectItem[], detached: DirectItem[]): Promise<void> {
    const jobs: { name: string; data: DeliveryJobData; opts: JobsOptions }[] = [];
    for (const item of handed)
      jobs.push({
        name: JOB.deliver,
        data: item.data,
        opts: deliveryJobOptions(item.data.d, item.maxRetries, ttl),
      });
    for (const item of detached) {
      jobs.push({
        name: JOB.watch,
        data: { ...deliveryOf(item.data), m: item.maxRetries },
        opts: {
          jobId: watchJobId(item.data.d),
          delay: opts.watchDelayMs,
          attempts: 10,
          backoff: { type: BACKOFF_TYPE },
          removeOnComplete: true,
          removeOnFail: { age: ttl, count: 100_000 },
        },
      });
    }
    if (jobs.length > 0) await deps.queue.addBulk(jobs);
  }

  return {
    async run(items) {
      if (items.length === 0) return;
      if (stopping) return queueJobs(items, []);
      const tasks: Task[] = [];
      const settled: Promise<void>[] = [];
      for (const item of items) {
        const task: Task = {
          item,
          state: 'waiting',
          detached: false,
          startedAt: 0,
          gatedAt: 0,
          wait: null,
          settle: () => undefined,
        };
        settled.push(new Promise<void>((r) => (task.settle = r)));
        tasks.push(task);
        waiting.add(task);
        admit(task);
      }
      watchTimer();
      await Promise.all(settled);
      // Not started (shutdown): queued as jobs. Stopped by an error (a Redis failure, a hook):
      // queued as far as the record says it needs (queueAgain). Failing the fan-out instead would
      // re-run it while detached attempts are still under way.
      const queued: DirectItem[] = [];
      const watched: Task[] = [];
      const errored: DirectItem[] = [];
      for (const t of tasks) {
        if (t.state === 'handed') queued.push(t.item);
        // A detached attempt that finished cleanly needs no watch; one that threw is being queued.
        else if (t.detached && (t.state === 'running' || t.error !== undefined)) watched.push(t);
        else if (!t.detached && t.error !== undefined) {
          deps.logger.warn(
            { err: t.error, deliveryId: t.item.data.d },
            'direct attempt failed; delivery queued',
          );
          errored.push(t.item);
        }
      }
      for (const item of errored) await queueAgain(item);
      await queueJobs(
        queued,
        watched.map((t) => t.item),
      );
      for (const t of watched) {
        // One that finished while its watch was being queued removes it here, the others when done.
        if (t.state === 'done' && t.error === undefined) await unwatch(t);
        else t.watched = true;
      }
    },

    stop() {
      stopping = true;
      for (const t of [...waiting]) {
        if (t.wait && !t.wait.cancel()) continue; // granted: it runs
        if (t.wait && t.gate) pass(t); // past its gate, it never runs: the next one may
        waiting.delete(t);
        t.state = 'handed';
        t.settle();
      }
    },

    async drain() {
      while (underway.size > 0) await Promise.allSettled([...underway]);
    },
  };
}
