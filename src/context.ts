// The service graph shared by the API and the workers of one process: connections, stores,
// queues, the subscription cache, the HTTP agent. Built once, closed once.
import { Queue } from 'bullmq';
import type { Dispatcher } from 'undici';
import type { Config } from './config.js';
import type { FieldError } from './domain/errors.js';
import { createSecretBox, type SecretBox } from './crypto.js';
import type { TokenProvider } from './delivery/auth/types.js';
import type { DeliveryHooks } from './delivery/process-delivery.js';
import { createGuardedAgent, type SecurityOptions } from './delivery/security.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { DELIVERIES_QUEUE, EVENTS_QUEUE, type DeliveryJobData, type EventJobData } from './queue/names.js';
import { createOpsEvents, type OpsEvents } from './queue/ops-events.js';
import { createPublisher, type Publisher } from './queue/publisher.js';
import { createRedis, keyspace, type Keys, type Redis } from './redis.js';
import { createDeliveryStore, type DeliveryStore } from './store/delivery-store.js';
import { createSubscriptionCache, type SubscriptionCache } from './store/subscription-cache.js';
import { createSubscriptionStore, type SubscriptionStore } from './store/subscription-store.js';

export interface Context {
  config: Config;
  logger: Logger;
  /** Producer connection: fails fast (API requests, store writes). */
  redis: Redis;
  keys: Keys;
  box: SecretBox;
  subscriptionStore: SubscriptionStore;
  subscriptions: SubscriptionCache;
  deliveries: DeliveryStore;
  eventsQueue: Queue<EventJobData>;
  deliveriesQueue: Queue<DeliveryJobData>;
  publisher: Publisher;
  /** Publishes operational events (subscription.disabled, delivery.exhausted). */
  ops: OpsEvents;
  agent: Dispatcher;
  tokens?: TokenProvider;
  /** Save-time URL check (SSRF guard): field errors under `path`, empty when allowed. */
  urlGuard?: (url: string, path: string) => Promise<FieldError[]>;
  /** Prometheus metrics of this instance; features report through it (src/metrics.ts). */
  metrics: Metrics;
  /** Breaker, rate limiter, metrics: run around every delivery attempt. */
  deliveryHooks: DeliveryHooks[];
  /** Extra resources to close (added by plugins such as the OAuth token provider). */
  closers: (() => Promise<void>)[];
  /** Creates a new connection for a BullMQ Worker (blocking commands need their own). */
  workerConnection(): Redis;
  close(): Promise<void>;
}

/** Each shutdown step gets this long; past it, connections are dropped rather than awaited. */
const CLOSE_STEP_MS = 2_000;

/** Resolves true if `p` settles within `ms`, false otherwise (never rejects). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(r, ms, false)));
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** QUIT when Redis answers; a connection that cannot (Redis down, reconnecting) is just dropped. */
async function hangUp(c: Redis): Promise<void> {
  if (c.status !== 'ready' || !(await within(c.quit(), CLOSE_STEP_MS))) c.disconnect();
}

export interface ContextOptions {
  /** Replaces the SSRF-guarded Agent (tests of other concerns only). */
  agent?: Dispatcher;
  security?: SecurityOptions;
}

export async function createContext(
  config: Config,
  logger: Logger,
  opts: ContextOptions = {},
): Promise<Context> {
  const redis = createRedis(config.REDIS_URL, 'producer');
  const subscriber = createRedis(config.REDIS_URL, 'subscriber');
  const keys = keyspace(config.REDIS_PREFIX);
  const box = createSecretBox(config.ENCRYPTION_KEY);
  const subscriptionStore = createSubscriptionStore(redis, keys, box, {
    maxPerTenant: config.MAX_SUBSCRIPTIONS_PER_TENANT,
  });
  const subscriptions = await createSubscriptionCache(subscriptionStore, subscriber, keys);
  const ttlSeconds = config.DELIVERY_LOG_TTL_DAYS * 86_400;
  const deliveries = createDeliveryStore(redis, keys, ttlSeconds);
  const prefix = config.REDIS_PREFIX;
  // BullMQ loads its Lua scripts onto the connection it is given, and ioredis copies every
  // script onto each pipeline of that connection: the stores' pipelines get their own.
  const queueConnection = createRedis(config.REDIS_URL, 'producer');
  const eventsQueue = new Queue<EventJobData>(EVENTS_QUEUE, { connection: queueConnection, prefix });
  const deliveriesQueue = new Queue<DeliveryJobData>(DELIVERIES_QUEUE, {
    connection: queueConnection,
    prefix,
  });
  const metrics = createMetrics();
  const publisher = createPublisher({
    connection: redis,
    queue: eventsQueue,
    prefix,
    removeOnFailAgeSeconds: ttlSeconds,
    onAccepted: (count) => metrics.eventsAccepted(count),
    box,
    allowHttp: config.ALLOW_HTTP_WEBHOOKS,
    // The same save-time guard as the API's once installSecurity has set it (the API route
    // validates its events itself and only calls enqueue).
    urlGuard: (url, path) => (ctx.urlGuard ? ctx.urlGuard(url, path) : Promise.resolve([])),
  });
  const agent = opts.agent ?? createGuardedAgent(config, opts.security);
  const workerConns: Redis[] = [];

  const ctx: Context = {
    config,
    logger,
    redis,
    keys,
    box,
    subscriptionStore,
    subscriptions,
    deliveries,
    eventsQueue,
    deliveriesQueue,
    publisher,
    ops: createOpsEvents({ publisher, logger, onEmitted: (type) => metrics.operationalEvent(type) }),
    agent,
    metrics,
    closers: [],
    deliveryHooks: [],
    workerConnection() {
      const c = createRedis(config.REDIS_URL, 'worker');
      workerConns.push(c);
      return c;
    },
    async close() {
      for (const c of ctx.closers.splice(0).reverse())
        await c().catch((err) => logger.warn({ err }, 'close failed'));
      await within(Promise.allSettled([eventsQueue.close(), deliveriesQueue.close()]), CLOSE_STEP_MS);
      await subscriptions.close();
      await Promise.allSettled([...workerConns, redis, queueConnection].map(hangUp));
      if (!opts.agent && !(await within(agent.close(), CLOSE_STEP_MS))) await agent.destroy();
    },
  };
  return ctx;
}
