// The exported publisher (`import { createPublisher } from 'hookline'`): any Node process adds
// events to the queue directly, validated exactly as the API validates them (acceptEvents in
// ./events.ts), then enqueued by src/pipeline/publisher.ts. Settings come from a Config
// (src/config.ts); without one, from the environment through that same config module.
import type { Tracer } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { loadConfig, type Config } from '../config.js';
import { createSecretBox, type SecretBox } from '../crypto.js';
import { createUrlGuard, policyFor, type UrlGuard } from '../delivery/security.js';
import type { EventsQueue } from '../pipeline/jobs.js';
import { createEnqueuer, type Publisher } from '../pipeline/publisher.js';
import type { TenantPriority } from '../pipeline/tenant-priority.js';
import { topologyOf } from '../redis/topology.js';
import { createEventService } from './events.js';

export type { Publisher, PublishResult } from '../pipeline/publisher.js';

/** The variables a producer reads; a whole server Config has them all. */
const PUBLISHER_VARS = [
  'REDIS_URL',
  'REDIS_PREFIX',
  'REDIS_TLS_CA_FILE',
  'REDIS_SENTINELS',
  'REDIS_SENTINEL_NAME',
  'REDIS_SENTINEL_PASSWORD',
  'REDIS_CLUSTER_NODES',
  'ENCRYPTION_KEY',
  'ALLOW_HTTP_WEBHOOKS',
  'ALLOWED_PRIVATE_CIDRS',
  'DELIVERY_LOG_TTL_DAYS',
] as const;
export type PublisherConfig = Pick<Config, (typeof PUBLISHER_VARS)[number]>;

/**
 * The producer's settings from the environment, parsed and defaulted by the config module. Only
 * its own variables are read: a producer need not carry the server's (ADMIN_TOKEN in production).
 */
export function publisherConfigFromEnv(
  env: Record<string, string | undefined> = process.env,
): PublisherConfig {
  return loadConfig(Object.fromEntries(PUBLISHER_VARS.map((name) => [name, env[name]])));
}

export interface PublisherOptions {
  /**
   * Settings (a `loadConfig()` Config will do): REDIS_URL (and the other REDIS_* variables
   * choosing Sentinel, Cluster or a TLS CA), REDIS_PREFIX, ENCRYPTION_KEY,
   * ALLOW_HTTP_WEBHOOKS, ALLOWED_PRIVATE_CIDRS, DELIVERY_LOG_TTL_DAYS. Default: read from the
   * environment by the config module. The options below override single settings.
   */
  config?: PublisherConfig;
  /** When set, every event must be of this tenant (a tenant's own producer). */
  tenant?: string;
  /** Default: config.REDIS_URL. */
  redisUrl?: string;
  /** Default: config.REDIS_PREFIX. */
  prefix?: string;
  /** An existing producer connection (not closed by the publisher). */
  connection?: Redis;
  /** An existing events queue (not closed by the publisher). */
  queue?: EventsQueue;
  /** Default: DELIVERY_LOG_TTL_DAYS. */
  removeOnFailAgeSeconds?: number;
  /** Called with the number of events newly queued (metrics). */
  onAccepted?: (count: number) => void;
  /**
   * Encrypts per-event deliveryReport secrets (always: a value that looks encrypted is a plain
   * string too). Default: from config.ENCRYPTION_KEY; producers must use the workers' key.
   */
  box?: SecretBox;
  /**
   * Events' own deliveryReport URLs are checked as the API checks them: plain http:// only when
   * allowed (default: config.ALLOW_HTTP_WEBHOOKS), then the SSRF guard, which exempts
   * `allowedPrivateCidrs` (default: config.ALLOWED_PRIVATE_CIDRS). `urlGuard` replaces that guard.
   */
  allowHttp?: boolean;
  allowedPrivateCidrs?: string[];
  urlGuard?: UrlGuard;
  /**
   * The application's OpenTelemetry tracer (`trace.getTracer('hookline')` from its own SDK set-up):
   * each event gets a `hookline.publish` span under the caller's active span, and its trace
   * continues in Hookline's workers (when they trace too). Default: none, unless Hookline
   * itself traces in this process.
   */
  tracer?: Tracer;
  /** Hookline's own: the process's lighter-tenants-first order (src/pipeline/tenant-priority.ts). */
  priority?: TenantPriority;
}

export function createPublisher(opts: PublisherOptions = {}): Publisher {
  // Read only for settings the options leave open.
  let envConfig: PublisherConfig | undefined;
  const config = () => opts.config ?? (envConfig ??= publisherConfigFromEnv());
  const enqueuer = createEnqueuer({
    prefix: opts.prefix ?? config().REDIS_PREFIX,
    connection: opts.connection,
    // The config's topology (Sentinel, Cluster, TLS); `redisUrl` replaces only its URL.
    redis: opts.connection
      ? undefined
      : { ...topologyOf(config()), ...(opts.redisUrl ? { url: opts.redisUrl } : {}) },
    queue: opts.queue,
    box: opts.box ?? createSecretBox(config().ENCRYPTION_KEY),
    removeOnFailAgeSeconds: opts.removeOnFailAgeSeconds ?? config().DELIVERY_LOG_TTL_DAYS * 86_400,
    onAccepted: opts.onAccepted,
    tracer: opts.tracer,
    priority: opts.priority,
  });
  const events = createEventService({
    enqueuer,
    allowHttp: opts.allowHttp ?? config().ALLOW_HTTP_WEBHOOKS,
    urlGuard:
      opts.urlGuard ??
      createUrlGuard(
        policyFor({ ALLOWED_PRIVATE_CIDRS: opts.allowedPrivateCidrs ?? config().ALLOWED_PRIVATE_CIDRS }),
      ),
  });
  const tenant = opts.tenant;
  return {
    async publish(input) {
      const [result] = await events.acceptEvents([input], { tenant, at: () => '' });
      return result!;
    },
    publishBatch: (inputs) => events.acceptEvents(inputs, { tenant }),
    enqueue: (list) => enqueuer.enqueue(list),
    close: () => enqueuer.close(),
  };
}
