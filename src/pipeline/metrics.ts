// Prometheus metrics (prom-client): counters fed by the publisher, the OAuth token provider, the
// breaker and a delivery hook; queue depths read at scrape time. One Registry per Hookline instance.
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BreakerPhase } from '../resilience/breaker.js';
import type { InFlightSnapshot } from '../resilience/in-flight.js';
import type { Logger } from '../logger.js';
import type { DeliveryHooks } from './runner.js';
import type { StallState } from './stall.js';

/** Outcome of one request to a subscriber's OAuth2 token endpoint. */
export type OAuthTokenOutcome = 'success' | 'error';

/** What `getJobCounts` needs: both BullMQ queues fit. */
export interface CountableQueue {
  readonly name: string;
  getJobCounts(...types: QueueState[]): Promise<Record<string, number>>;
}

export interface Metrics {
  readonly registry: Registry;
  /** Content type of `scrape()`'s text. */
  readonly contentType: string;
  /** Run after every delivery attempt: no I/O, counters and histograms only. */
  readonly deliveryHook: DeliveryHooks;
  /** Events newly queued (duplicates excluded). */
  eventsAccepted(count: number): void;
  /** One request to a token endpoint (cache hits are not requests). */
  oauthTokenRequest(outcome: OAuthTokenOutcome): void;
  /** Deliveries ended `superseded` (a later status of their message was delivered first). */
  deliveriesSuperseded(count: number): void;
  /** One operational event published (subscription.disabled, delivery.exhausted). */
  operationalEvent(type: string): void;
  /**
   * The breaker state of a subscription as this process saw it. Call it on every transition and
   * whenever a check finds the breaker open: an open state not re-reported for `breakerStaleMs`
   * is dropped (another process may have closed it meanwhile).
   */
  breakerState(subscriptionId: string, state: BreakerPhase): void;
  /**
   * Run before each scrape of hookline_breaker_state (bounded by a 2 s timeout): re-reads the
   * breakers shown not closed, so one closed by another process disappears here too.
   */
  trackBreakers(refresh: () => Promise<void>, logger?: Logger): void;
  /** The delivery slots of this process's workers, exported as hookline_delivery_stalled and …_slots_full_seconds. */
  trackStall(read: () => StallState): void;
  /** Lighter tenants first (src/pipeline/tenant-priority.ts): hookline_fair_waits_total, …_wait_seconds_total. */
  trackTenantPriority(waits: { readonly count: number; readonly ms: number }): void;
  /**
   * The in-flight cap's counts, read from Redis at scrape time (at most every cacheMs):
   * hookline_deliveries_parked, …_parked_by_subscription and hookline_in_flight_by_subscription.
   */
  trackInFlight(read: () => Promise<InFlightSnapshot>, logger?: Logger): void;
  /** Queues whose job counts are exported as hookline_queue_jobs (read at most every cacheMs). */
  trackQueues(queues: CountableQueue[], logger?: Logger): void;
  /** The text exposition: this instance's metrics, then the process metrics. */
  scrape(): Promise<string>;
}

export interface MetricsOptions {
  /** How long queue counts are reused between scrapes, protecting Redis. Default 1500 ms. */
  queueCountsCacheMs?: number;
  /** Default 10 minutes. */
  breakerStaleMs?: number;
  /** Clock for breaker staleness, epoch ms. Default: Date.now. */
  now?: () => number;
}

export const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'failed',
  'completed',
] as const;
type QueueState = (typeof QUEUE_STATES)[number];
const STATUS_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const BREAKER_VALUE: Record<BreakerPhase, number> = { closed: 0, half_open: 1, open: 2 };

let processRegistry: Registry | undefined;
/** Process metrics belong to the process, not to an instance: collected once, shared by every registry. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const cacheMs = opts.queueCountsCacheMs ?? 1500;
  const breakerStaleMs = opts.breakerStaleMs ?? 10 * 60_000;
  const now = opts.now ?? Date.now;
  const registry = new Registry();
  const registers = [registry];

  const accepted = new Counter({
    name: 'hookline_events_accepted_total',
    help: 'Events accepted and queued (duplicates excluded).',
    registers,
  });
  const deliveries = new Counter({
    name: 'hookline_deliveries_total',
    help: 'Delivery attempts by outcome (succeeded, retrying, failed) and HTTP status class (none: no answer).',
    labelNames: ['outcome', 'status_class'] as const,
    registers,
  });
  const errors = new Counter({
    name: 'hookline_delivery_errors_total',
    help: 'Failed delivery attempts by error code (http_error, timeout, connection_error, oauth_token_error…).',
    labelNames: ['code'] as const,
    registers,
  });
  const attemptSeconds = new Histogram({
    name: 'hookline_delivery_attempt_duration_seconds',
    help: 'Duration of one delivery attempt, request start to end of response.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const latencySeconds = new Histogram({
    name: 'hookline_delivery_latency_seconds',
    help: 'From event accepted to delivery succeeded, retries included.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
    registers,
  });
  const oauth = new Counter({
    name: 'hookline_oauth_token_requests_total',
    help: 'Requests to subscribers’ OAuth2 token endpoints by outcome.',
    labelNames: ['outcome'] as const,
    registers,
  });
  const superseded = new Counter({
    name: 'hookline_deliveries_superseded_total',
    help: 'Deliveries not sent because a later status of the same message was delivered first (status superseded).',
    registers,
  });
  const operational = new Counter({
    name: 'hookline_operational_events_total',
    help: 'Operational events published, by type (subscription.disabled, delivery.exhausted).',
    labelNames: ['type'] as const,
    registers,
  });

  const breakers = new Map<string, { state: BreakerPhase; at: number }>();
  let refreshBreakers: (() => Promise<void>) | undefined;
  let breakerLogger: Logger | undefined;
  new Gauge({
    name: 'hookline_breaker_state',
    help: 'Circuit breakers not closed, per subscription: 1 half-open (probing), 2 open. Closed ones are absent.',
    labelNames: ['subscription_id'] as const,
    registers,
    async collect() {
      if (refreshBreakers) {
        await withTimeout(refreshBreakers(), 2000).catch((err: unknown) =>
          breakerLogger?.warn({ err }, 'metrics: breaker states not refreshed'),
        );
      }
      this.reset();
      const oldest = now() - breakerStaleMs;
      for (const [id, b] of breakers) {
        if (b.at < oldest) breakers.delete(id);
        else this.set({ subscription_id: id }, BREAKER_VALUE[b.state]);
      }
    },
  });

  // Children are bound once per label set so the per-attempt path does no label hashing.
  const deliveryChildren = new Map<string, Counter.Internal[]>();
  const errorChildren = new Map<string, Counter.Internal>();
  const deliveryHook: DeliveryHooks = {
    afterAttempt({ event, outcome, status }) {
      const cls =
        outcome.statusCode === null ? 0 : Math.min(5, Math.max(1, Math.floor(outcome.statusCode / 100)));
      let row = deliveryChildren.get(status);
      if (!row) deliveryChildren.set(status, (row = []));
      (row[cls] ??= deliveries.labels({ outcome: status, status_class: STATUS_CLASSES[cls]! })).inc();
      attemptSeconds.observe(outcome.durationMs / 1000);
      const code = outcome.error?.code;
      if (code) {
        let child = errorChildren.get(code);
        if (!child) errorChildren.set(code, (child = errors.labels({ code })));
        child.inc();
      }
      const acceptedAt = event.acceptedAt;
      if (status === 'succeeded' && typeof acceptedAt === 'number')
        latencySeconds.observe(Math.max(0, Date.now() - acceptedAt) / 1000);
    },
  };

  return {
    registry,
    contentType: registry.contentType,
    deliveryHook,
    eventsAccepted: (count) => accepted.inc(count),
    oauthTokenRequest: (outcome) => oauth.inc({ outcome }),
    deliveriesSuperseded: (count) => superseded.inc(count),
    operationalEvent: (type) => operational.inc({ type }),
    breakerState(subscriptionId, state) {
      if (state === 'closed') breakers.delete(subscriptionId);
      else breakers.set(subscriptionId, { state, at: now() });
    },
    trackBreakers(refresh, logger) {
      refreshBreakers = refresh;
      breakerLogger = logger;
    },
    trackStall(read) {
      new Gauge({
        name: 'hookline_delivery_stalled',
        help: 'Whether every delivery slot of this process has been busy with none freed for longer than DELIVERY_STALL_MS (1) or not (0); /readyz answers 503 while it is 1.',
        registers,
        collect() {
          this.set(read().stalled ? 1 : 0);
        },
      });
      new Gauge({
        name: 'hookline_delivery_slots_full_seconds',
        help: 'How long every delivery slot of this process has been busy with none freed (0 while one is free).',
        registers,
        collect() {
          this.set(read().fullForMs / 1000);
        },
      });
    },
    trackTenantPriority(waits) {
      // Counters of a running tally: each scrape adds what was added since the last.
      let count = 0;
      let ms = 0;
      new Counter({
        name: 'hookline_fair_waits_total',
        help: 'Steps of a heavy tenant (accepting a call, a fan-out, an attempt) that waited while a lighter tenant’s step was under way in this process (FAIR_WAIT_MS).',
        registers,
        collect() {
          this.inc(waits.count - count);
          count = waits.count;
        },
      });
      new Counter({
        name: 'hookline_fair_wait_seconds_total',
        help: 'Time heavy tenants’ steps spent waiting for lighter tenants’ (FAIR_WAIT_MS bounds each wait).',
        registers,
        collect() {
          this.inc((waits.ms - ms) / 1000);
          ms = waits.ms;
        },
      });
    },
    trackInFlight(read, logger) {
      let cached: { at: number; snap: Promise<InFlightSnapshot> } | undefined;
      const snapshot = () => {
        if (!cached || Date.now() - cached.at > cacheMs) {
          const entry = { at: Date.now(), snap: withTimeout(read(), 2000) };
          entry.snap.catch(() => {
            if (cached === entry) cached = undefined;
          });
          cached = entry;
        }
        return cached.snap;
      };
      const gauge = (
        name: string,
        help: string,
        fill: (g: Gauge<'subscription_id'>, s: InFlightSnapshot) => void,
      ) =>
        new Gauge({
          name,
          help,
          labelNames: name === 'hookline_deliveries_parked' ? [] : ['subscription_id'],
          registers,
          async collect() {
            this.reset();
            try {
              fill(this, await snapshot());
            } catch (err) {
              logger?.warn({ err }, 'metrics: in-flight counts unavailable');
            }
          },
        });
      gauge(
        'hookline_deliveries_parked',
        'Deliveries parked over their subscription’s maxInFlight (pending, heldReason in_flight_cap), every process together.',
        (g, s) => g.set(s.parkedTotal),
      );
      gauge(
        'hookline_deliveries_parked_by_subscription',
        'Deliveries parked over maxInFlight, for the 10 subscriptions with the most.',
        (g, s) => s.parked.forEach(([id, n]) => g.set({ subscription_id: id }, n)),
      );
      gauge(
        'hookline_in_flight_by_subscription',
        'Requests under way per subscription (leases on its maxInFlight), every process together, for the 10 with the most.',
        (g, s) => s.inFlight.forEach(([id, n]) => g.set({ subscription_id: id }, n)),
      );
    },
    trackQueues(queues, logger) {
      let cached: { at: number; counts: Promise<Record<string, number>[]> } | undefined;
      const read = () => {
        if (!cached || Date.now() - cached.at > cacheMs) {
          const entry = {
            at: Date.now(),
            counts: withTimeout(Promise.all(queues.map((q) => q.getJobCounts(...QUEUE_STATES))), 2000),
          };
          // A failed read is not reused: the next scrape asks again.
          entry.counts.catch(() => {
            if (cached === entry) cached = undefined;
          });
          cached = entry;
        }
        return cached.counts;
      };
      new Gauge({
        name: 'hookline_queue_jobs',
        help: 'Jobs per queue and state, read from Redis at scrape time (shared by every process).',
        labelNames: ['queue', 'state'] as const,
        registers,
        async collect() {
          try {
            const counts = await read();
            queues.forEach((q, i) => {
              for (const state of QUEUE_STATES) this.set({ queue: q.name, state }, counts[i]?.[state] ?? 0);
            });
          } catch (err) {
            this.reset();
            logger?.warn({ err }, 'metrics: queue counts unavailable');
          }
        },
      });
    },
    async scrape() {
      const [own, proc] = await Promise.all([registry.metrics(), processMetrics().metrics()]);
      return own + proc;
    },
  };
}

/** A scrape must not hang on a stuck Redis: Prometheus would time out and lose every metric. */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(reject, ms, new Error(`no answer within ${ms} ms`));
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/** Wires metrics into a context: the delivery hook, queue gauges and, with METRICS_PORT, a listener. */
/** A bare listener for processes without the API (workers): GET /metrics and /healthz. */
export function serveMetrics(metrics: Metrics, logger: Logger): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      metrics.scrape().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (err: unknown) => {
          logger.error({ err }, 'metrics scrape failed');
          res.writeHead(500).end();
        },
      );
    } else if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404).end();
    }
  });
  server.on('error', (err) => logger.error({ err }, 'metrics listener failed'));
  return server;
}
