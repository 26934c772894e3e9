// The service graph the pipeline, the services and the API run on: connections, stores, queues,
// the subscription cache, the HTTP agent, the hooks around each attempt. src/compose.ts builds
// it once per process, whole, before anything starts; nothing installs into it afterwards.
import type { Queue } from 'bullmq';
import type { Dispatcher } from 'undici';
import type { Config } from '../config.js';
import type { SecretBox } from '../crypto.js';
import type { TokenProvider } from '../delivery/auth/types.js';
import type { UrlGuard } from '../delivery/security.js';
import type { Logger } from '../logger.js';
import type { Keys, Redis } from '../redis/client.js';
import type { DeliveryStore } from '../store/delivery-store.js';
import type { HistoryStore } from '../store/history/history-store.js';
import type { HistoryReader } from '../store/history/reader.js';
import type { SubscriptionCache } from '../store/subscription-cache.js';
import type { SubscriptionStore } from '../store/subscription-store.js';
import type { DeliveryJobData, EventJobData } from './jobs.js';
import type { Metrics } from './metrics.js';
import type { OpsEvents } from './ops-events.js';
import type { Publisher } from './publisher.js';
import type { DeliveryHooks } from './runner.js';
import type { TenantPriority } from './tenant-priority.js';

export interface Context {
  readonly config: Config;
  readonly logger: Logger;
  /** Producer connection: fails fast (API requests, store writes). */
  readonly redis: Redis;
  readonly keys: Keys;
  readonly box: SecretBox;
  readonly subscriptionStore: SubscriptionStore;
  readonly subscriptions: SubscriptionCache;
  /** Deliveries and events in Redis: all of them, or (with DATABASE_URL) those under way. */
  readonly deliveries: DeliveryStore;
  /** Reads records wherever they are now (Redis, else PostgreSQL): what the API shows. */
  readonly history: HistoryReader;
  /** The PostgreSQL history when DATABASE_URL is set (ended records move there). */
  readonly historyStore?: HistoryStore;
  /**
   * Without DATABASE_URL, the history Redis keeps read as a HistoryStore (its filters, its
   * lists); unset with DATABASE_URL. Exactly one of historyStore and redisHistory is set.
   */
  readonly redisHistory?: HistoryStore;
  readonly eventsQueue: Queue<EventJobData>;
  readonly deliveriesQueue: Queue<DeliveryJobData>;
  readonly publisher: Publisher;
  /** Lighter tenants' steps before a send go first (FAIR_WAIT_MS): accept, fan-out, attempts. */
  readonly priority: TenantPriority;
  /** Publishes operational events (subscription.disabled, delivery.exhausted). */
  readonly ops: OpsEvents;
  /** The SSRF-guarded delivery Agent. */
  readonly agent: Dispatcher;
  /** OAuth2 tokens: shared Redis cache, single flight across workers. */
  readonly tokens: TokenProvider;
  /** Save-time URL check (SSRF guard): field errors under `path`, empty when allowed. */
  readonly urlGuard: UrlGuard;
  /** Prometheus metrics of this instance; features report through it. */
  readonly metrics: Metrics;
  /**
   * Run around every delivery attempt, in order: breaker, rate limit and in-flight cap, then
   * metrics. Complete when compose returns (tests may add observers).
   */
  readonly deliveryHooks: DeliveryHooks[];
  /** Creates a new connection for a BullMQ Worker (blocking commands need their own). */
  workerConnection(): Redis;
  close(): Promise<void>;
}
