// ioredis connections as BullMQ advises: workers block and must retry forever
// (maxRetriesPerRequest: null); producers fail fast so the API can answer 503. Each one follows
// the deployment's topology (./topology.ts): one node, a Sentinel-watched master or a Cluster.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { topologyKind, urlSettings, type RedisTopology } from './topology.js';

export type { Redis };

export type ConnectionRole = 'worker' | 'producer' | 'subscriber';

/** Capped low: after an outage every process should be back within seconds of Redis. */
const retryStrategy = (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 3_000);
/**
 * Through Sentinel a dead master means a failover under way: retry (ask Sentinel again) at least
 * every half second, so a connection waiting out the outage is on the new master within about
 * that of the announcement (a live connection follows at once: failoverDetector).
 */
const sentinelRetry = (times: number) => Math.min(100 * times, 500);

/**
 * A connection of `role` to `target` (a topology, or a plain REDIS_URL for one node). A Cluster
 * client is returned as a Redis: Hookline's stores use only what both offer (commands,
 * pipelines of one hash slot, defineCommand, pub/sub, quit), and BullMQ takes either.
 */
export function createRedis(
  target: string | RedisTopology,
  role: ConnectionRole,
  extra: RedisOptions = {},
): Redis {
  const topology = typeof target === 'string' ? { url: target } : target;
  const { host, port, ...url } = urlSettings(topology);
  const base: RedisOptions = {
    ...url,
    lazyConnect: false,
    enableReadyCheck: true,
    retryStrategy,
    // A demoted master answers READONLY: reconnect, which asks Sentinel (if any) where the master is now.
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
  const byRole: RedisOptions =
    role === 'producer' ? { maxRetriesPerRequest: 2, connectTimeout: 5_000 } : { maxRetriesPerRequest: null };
  let conn: Redis;
  switch (topologyKind(topology)) {
    case 'single':
      conn = new Redis({ host, port, ...base, ...byRole, ...extra });
      break;
    case 'sentinel':
      conn = new Redis({
        ...base,
        ...byRole,
        sentinels: topology.sentinels,
        name: topology.sentinelName,
        sentinelPassword: topology.sentinelPassword,
        // rediss:// encrypts the Sentinel connections too (same CA).
        ...(url.tls ? { enableTLSForSentinelMode: true, sentinelTLS: url.tls } : {}),
        // Subscribes to Sentinel's +switch-master and reconnects at once: without it a client keeps
        // writing to the old master until that one is demoted, and those writes are lost.
        failoverDetector: true,
        retryStrategy: sentinelRetry,
        sentinelRetryStrategy: sentinelRetry,
        // The detector's own Sentinel connections: without a strategy they stay down after a
        // Sentinel restart, and failovers would again be noticed only through errors.
        sentinelReconnectStrategy: sentinelRetry,
        ...extra,
      });
      break;
    case 'cluster': {
      const { retryStrategy: _perNode, db: _db, ...nodeOptions } = { ...base, ...byRole, ...extra };
      const options: ClusterOptions = {
        enableReadyCheck: true,
        clusterRetryStrategy: retryStrategy,
        redisOptions: nodeOptions,
        // Managed TLS clusters announce IP addresses; keep the seed's name for certificate checks.
        ...(url.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
      };
      conn = new Cluster(topology.clusterNodes!, options) as unknown as Redis;
      break;
    }
  }
  // Connection errors are retried by retryStrategy and reported by /readyz; without a listener
  // ioredis would print each one as an unhandled error event.
  conn.on('error', () => undefined);
  if (topologyKind(topology) === 'sentinel') quietSentinelClients(conn);
  return conn;
}

/**
 * ioredis gives the failover detector's own Sentinel connections no 'error' listener and no
 * option for one: a Sentinel restart would print "[ioredis] Unhandled error event" for each retry.
 * Every Sentinel connection the connector makes gets one (they retry on their own strategy).
 */
function quietSentinelClients(conn: Redis): void {
  type Connect = (...args: unknown[]) => Redis;
  const connector = (conn as unknown as { connector?: { connectToSentinel?: Connect } }).connector;
  const connect = connector?.connectToSentinel;
  if (!connector || typeof connect !== 'function') return;
  connector.connectToSentinel = (...args) => connect.apply(connector, args).on('error', () => undefined);
}

/** Server settings docs/operations.md recommends, each with why (a lower value is worse). */
export const RECOMMENDED_REDIS_SETTINGS: Record<string, { min: number; why: string }> = {
  'hash-max-listpack-value': {
    min: 1024,
    why: 'queued jobs and stored events stay compact listpacks (about 25 % less memory per queued delivery)',
  },
  'zset-max-listpack-entries': {
    min: 128,
    why: 'the Redis history’s delivery index keeps chunks of 120 entries as listpacks (about 40 B an entry instead of 118)',
  },
};

/**
 * Reads the settings Hookline cares about and returns a warning for each one below its
 * recommendation. A server that refuses CONFIG (managed Redis) gives no warnings.
 */
export async function redisSettingWarnings(redis: Redis): Promise<string[]> {
  const warnings: string[] = [];
  for (const [name, { min, why }] of Object.entries(RECOMMENDED_REDIS_SETTINGS)) {
    let value: number;
    try {
      const reply = (await redis.config('GET', name)) as string[];
      value = Number(reply[1]);
    } catch {
      return [];
    }
    if (Number.isFinite(value) && value < min)
      warnings.push(`Redis ${name} is ${value}; ${min} is recommended: ${why} (docs/operations.md)`);
  }
  return warnings;
}

/** Key builder: every key starts with the (hash-tagged) prefix. */
export function keyspace(prefix: string) {
  return {
    prefix,
    // Event ids are per tenant: its keys name the tenant first, then `|` (which no event id holds).
    /** The event as accepted (field `e`) and the ids of its deliveries (the other fields). */
    event: (tenantId: string, eventId: string) => `${prefix}:evt:${tenantId}|${eventId}`,
    /**
     * Idempotency claims of one 6-hour slot: a linear-hashed table (src/redis/linear-hash.ts), the
     * count key; its buckets are `<table>:<n>` (fields: 12-byte digests of tenant and id).
     */
    idemTable: (slot: number) => `${prefix}:idm:${slot}`,
    /** The first slot the idemTable layout wrote (0.4.0-pre buckets are read up to it). */
    idemSince: () => `${prefix}:idm:since`,
    /** 0.4.0-pre: claims of one 6-hour slot, 64 shard hashes (fields `<tenant>|<id>`; read, never written). */
    idemBucket: (slot: number, shard: number) => `${prefix}:idemh:${slot}:${shard}`,
    /** Before 0.4: an idempotency claim by id alone, its value the tenant (read, never written). */
    legacyIdem: (eventId: string) => `${prefix}:idem:${eventId}`,
    /** Before 0.4: an event stored by its id alone (read, never written). */
    legacyEvent: (eventId: string) => `${prefix}:evt:${eventId}`,
    /** Before 0.2: an event's delivery ids, beside the event stored as a string at legacyEvent. */
    legacyEventDeliveries: (eventId: string) => `${prefix}:evt:${eventId}:dlv`,
    sub: (id: string) => `${prefix}:sub:${id}`,
    tenantSubs: (tenantId: string) => `${prefix}:tenant:${tenantId}:subs`,
    allSubs: () => `${prefix}:subs:all`,
    /** Ids of a tenant's live (not deleted) subscriptions, plus the member `~` once built: the cap's count. */
    tenantLiveSubs: (tenantId: string) => `${prefix}:tenant:${tenantId}:live`,
    subUrl: (tenantId: string, subProduct: string, urlHash: string) =>
      `${prefix}:suburl:${tenantId}:${subProduct}:${urlHash}`,
    /**
     * A subscription's delivery index (src/redis/lua/lib/delivery-index.lua): the base of its
     * directory `<base>:d` and chunks `<base>:<ms>:<delivery id>`; the base itself is the sorted
     * set older versions wrote (read until it expires).
     */
    subDeliveries: (id: string) => `${prefix}:sub:${id}:dlv`,
    subHeld: (id: string) => `${prefix}:sub:${id}:held`,
    subChanges: () => `${prefix}:sub-changes`,
    /** The history outbox: a stream of records (or references) waiting for PostgreSQL. */
    history: () => `${prefix}:history`,
    delivery: (id: string) => `${prefix}:dlv:${id}`,
    deliveryAttempts: (id: string) => `${prefix}:dlv:${id}:att`,
    /**
     * Stale-status marks written in one time slot: a linear-hashed table (src/redis/linear-hash.ts)
     * whose fields are digests of tenant, message and destination (src/domain/stale-status.ts).
     */
    markTable: (slot: number) => `${prefix}:mk:${slot}`,
    /**
     * Without PostgreSQL: the message index of one time slot (the marks' slots), a linear-hashed
     * table whose fields are digests of tenant and message, valued the event ids (space-separated).
     */
    messageIndex: (slot: number) => `${prefix}:mx:${slot}`,
    /**
     * Before the slot tables (0.4.0-pre): a message's events (fields `e:<event id>`, read by the
     * Redis history until they expire, never written) and its status marks (no longer read).
     */
    messageStatus: (tenantId: string, messageId: string) => `${prefix}:msg:${tenantId}:${messageId}`,
    client: (id: string) => `${prefix}:client:${id}`,
    /** Ids of a tenant's API clients (platform clients: one set of their own), for the cap. */
    tenantClients: (tenantId: string | undefined) =>
      tenantId === undefined ? `${prefix}:clients:platform` : `${prefix}:tenant:${tenantId}:clients`,
    /** Failed authentications from one source address in the current minute. */
    authFailures: (source: string) => `${prefix}:authfail:${source}`,
    /** An API access token, keyed by its SHA-256 so a Redis dump holds no usable token. */
    accessToken: (hash: string) => `${prefix}:atok:${hash}`,
    oauthToken: (subId: string) => `${prefix}:oauth:${subId}`,
    oauthLock: (subId: string) => `${prefix}:oauth:${subId}:lock`,
    breaker: (subId: string) => `${prefix}:breaker:${subId}`,
    rate: (subId: string) => `${prefix}:rate:${subId}`,
    /** In-flight cap (src/resilience/in-flight.ts): a subscription's leases, delivery id → expiry ms. */
    inFlight: (subId: string) => `${prefix}:infl:${subId}`,
    /** Its deliveries parked over the cap, delivery id → arrival µs. */
    parked: (subId: string) => `${prefix}:parked:${subId}`,
    /** Subscriptions with leases or parked deliveries (metrics read these). */
    inFlightSubs: () => `${prefix}:infl-subs`,
    /** Subscriptions with parked deliveries (the sweep reads these). */
    parkedSubs: () => `${prefix}:parked-subs`,
  };
}

export type Keys = ReturnType<typeof keyspace>;
