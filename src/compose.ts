// The composition root: builds the read-only service graph (src/pipeline/context.ts) that the
// API, the workers and the exported publisher of one process share. Everything is wired here,
// in order, before anything starts; closing it closes what it opened.
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, type Config } from './config.js';
import { createSecretBox } from './crypto.js';
import { createOAuthTokenProvider } from './delivery/auth/oauth2.js';
import {
  createUrlGuard,
  createGuardedAgent,
  opsUrlProblems,
  policyFor,
  type SecurityOptions,
} from './delivery/security.js';
import { createGuardedLookup } from './delivery/ssrf.js';
import type { Dispatcher } from 'undici';
import type { Logger } from './logger.js';
import type { Context } from './pipeline/context.js';
import { createQueues } from './pipeline/jobs.js';
import { createMetrics, serveMetrics } from './pipeline/metrics.js';
import { createOpsEvents } from './pipeline/ops-events.js';
import { logQueueErrors } from './pipeline/queue-errors.js';
import { createPublisher } from './services/publisher.js';
import { createTenantPriority } from './pipeline/tenant-priority.js';
import { createResilience } from './pipeline/resilience-hook.js';
import type { DeliveryHooks } from './pipeline/runner.js';
import { createRedis, keyspace, type Redis } from './redis/client.js';
import { topologyOf } from './redis/topology.js';
import { createDeliveryStore } from './store/delivery-store.js';
import { createHistoryWriter } from './store/history/history-writer.js';
import { createHistoryMover } from './store/history/mover.js';
import { createRecentHistory } from './store/history/recent.js';
import { createHistoryOutbox } from './store/history/outbox.js';
import { connectPgHistory } from './store/history/pg-history.js';
import { createHistoryReader } from './store/history/reader.js';
import { createRedisHistoryStore } from './store/history/redis-history-store.js';
import { createSubscriptionCache } from './store/subscription-cache.js';
import { createSubscriptionStore } from './store/subscription-store.js';

export type { Context } from './pipeline/context.js';

/** Whole-record entries the history outbox takes at most (src/store/history/outbox.ts). */
const OUTBOX_MAX_ENTRIES = 5_000_000;

/** How long start waits for PostgreSQL before running without it (records wait in Redis). */
const HISTORY_START_WAIT_MS = 5_000;

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

export interface ComposeOptions {
  /** Replaces the SSRF-guarded Agent (tests of other concerns only). */
  agent?: Dispatcher;
  security?: SecurityOptions;
}

/**
 * Builds the service graph. Refuses a configuration it cannot run (OPS_WEBHOOK_URL blocked by
 * the SSRF guard) with a ConfigError, after closing what it opened.
 */
export async function compose(config: Config, logger: Logger, opts: ComposeOptions = {}): Promise<Context> {
  const topology = topologyOf(config);
  const redis = createRedis(topology, 'producer');
  const subscriber = createRedis(topology, 'subscriber');
  const keys = keyspace(config.REDIS_PREFIX);
  const box = createSecretBox(config.ENCRYPTION_KEY);
  const subscriptionStore = createSubscriptionStore(redis, keys, box, {
    maxPerTenant: config.MAX_SUBSCRIPTIONS_PER_TENANT,
  });
  const subscriptions = await createSubscriptionCache(subscriptionStore, subscriber, keys);
  const ttlSeconds = config.DELIVERY_LOG_TTL_DAYS * 86_400;
  // With the PostgreSQL history, what this process stores and ends is handed to its history
  // writer in memory as well (src/store/history/recent.ts): the outbox stays the record of truth.
  const recent = config.DATABASE_URL ? createRecentHistory() : undefined;
  const deliveries = createDeliveryStore(redis, keys, ttlSeconds, {
    logEnded: !!config.DATABASE_URL,
    recent,
  });
  const prefix = config.REDIS_PREFIX;
  // BullMQ loads its Lua scripts onto the connection it is given, and ioredis copies every
  // script onto each pipeline of that connection: the stores' pipelines get their own.
  const queueConnection = createRedis(topology, 'producer');
  const { events: eventsQueue, deliveries: deliveriesQueue } = createQueues(queueConnection, prefix);
  logQueueErrors(eventsQueue, logger, 'events queue');
  logQueueErrors(deliveriesQueue, logger, 'deliveries queue');
  const metrics = createMetrics();
  const policy = policyFor(config);
  const urlGuard = createUrlGuard(policy, opts.security);
  // Shared by the API's accepting and the workers' fan-out and attempts of this process.
  const priority = createTenantPriority({ maxWaitMs: config.FAIR_WAIT_MS });
  metrics.trackTenantPriority(priority.waits);
  const publisher = createPublisher({
    priority,
    connection: redis,
    queue: eventsQueue,
    prefix,
    removeOnFailAgeSeconds: ttlSeconds,
    onAccepted: (count) => metrics.eventsAccepted(count),
    box,
    allowHttp: config.ALLOW_HTTP_WEBHOOKS,
    urlGuard,
  });
  const agent = opts.agent ?? createGuardedAgent(config, opts.security);
  const tokens = createOAuthTokenProvider({
    redis,
    keys,
    box,
    logger,
    lookup: createGuardedLookup(policy, opts.security?.lookup),
    onTokenRequest: (outcome) => metrics.oauthTokenRequest(outcome),
    // A rotated refresh token is state, not a settings change: authVersion stays.
    saveRefreshToken: async (subId, refreshToken) => {
      await subscriptionStore.patchState(subId, (s) =>
        s.oauth2 ? { ...s, oauth2: { ...s.oauth2, refreshToken } } : undefined,
      );
    },
  });
  const workerConns: Redis[] = [];
  const closers: (() => Promise<void>)[] = [];
  // With DATABASE_URL, ended records move to PostgreSQL: every process runs a history writer
  // (they share the outbox through a consumer group). docs/history-postgres.md.
  let historyStore: Context['historyStore'];
  if (config.DATABASE_URL) {
    const pg = connectPgHistory({
      databaseUrl: config.DATABASE_URL,
      schema: config.DATABASE_SCHEMA,
      retentionDays: config.DELIVERY_LOG_TTL_DAYS,
      aheadDays: config.HISTORY_PARTITIONS_AHEAD_DAYS,
      poolMax: config.DATABASE_POOL_MAX,
      logger,
    });
    historyStore = pg.store;
    // Serve with the history open when PostgreSQL answers (migrations applied); a PostgreSQL
    // that is down does not keep the process from starting (it keeps trying behind).
    await Promise.race([pg.ready(), sleep(HISTORY_START_WAIT_MS, undefined, { ref: false })]);
    const writer = createHistoryWriter({
      store: pg.store,
      // Ended records are named by reference (about 60 B an entry) and wait in place; the bound
      // is for whole-record entries, which only tools push.
      outbox: createHistoryOutbox(redis, keys.history(), { maxEntries: OUTBOX_MAX_ENTRIES }),
      mover: createHistoryMover(redis, keys, deliveries, recent),
      batchSize: config.HISTORY_BATCH_SIZE,
      intervalMs: config.HISTORY_FLUSH_INTERVAL_MS,
      logger,
      registry: metrics.registry,
    });
    writer.start();
    closers.push(async () => {
      await writer.stop();
      await pg.close();
    });
  }
  const deliveryHooks: DeliveryHooks[] = [];

  const ctx: Context = {
    config,
    logger,
    redis,
    keys,
    box,
    subscriptionStore,
    subscriptions,
    deliveries,
    history: createHistoryReader({ live: deliveries, history: historyStore }),
    historyStore,
    redisHistory: historyStore ? undefined : createRedisHistoryStore(redis, keys, deliveries),
    eventsQueue,
    deliveriesQueue,
    publisher,
    priority,
    ops: createOpsEvents({ publisher, logger, onEmitted: (type) => metrics.operationalEvent(type) }),
    agent,
    tokens,
    urlGuard,
    metrics,
    deliveryHooks,
    workerConnection() {
      const c = createRedis(topology, 'worker');
      workerConns.push(c);
      return c;
    },
    async close() {
      for (const c of closers.splice(0).reverse())
        await c().catch((err) => logger.warn({ err }, 'close failed'));
      await within(Promise.allSettled([eventsQueue.close(), deliveriesQueue.close()]), CLOSE_STEP_MS);
      await subscriptions.close();
      await Promise.allSettled([...workerConns, redis, queueConnection].map(hangUp));
      if (!opts.agent && !(await within(agent.close(), CLOSE_STEP_MS))) await agent.destroy();
    },
  };

  const problems = await opsUrlProblems(ctx);
  if (problems.length > 0) {
    await ctx.close();
    throw new ConfigError(problems);
  }
  // Breaker, rate limit and in-flight cap first (they may hold a delivery), metrics last.
  const resilience = createResilience(ctx);
  deliveryHooks.push(resilience.hook, metrics.deliveryHook);
  closers.push(() => resilience.close());
  metrics.trackQueues([eventsQueue, deliveriesQueue], logger);
  const port = config.METRICS_PORT;
  if (port !== undefined) {
    const server = serveMetrics(metrics, logger);
    server.listen(port, config.HOST, () => logger.info({ address: server.address() }, 'metrics listening'));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
  }
  return ctx;
}
