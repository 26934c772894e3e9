// Every environment variable Hookline reads, declared once with its default and doc,
// validated at start. A bad value stops the process with a message naming the variable.
import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants } from 'node:fs';
import { parseCidr } from './delivery/ssrf/policy.js';
import { parseWebhookUrl } from './domain/subscription.js';
import { parseHostPort, type HostPort } from './redis/topology.js';
import type { TracesSampler, TracingSettings } from './telemetry/tracing.js';
import { VERSION } from './version.js';

type Parser<T> = (raw: string) => T;

interface VarSpec<T> {
  default?: T;
  doc: string;
  parse: Parser<T>;
}

class InvalidValue extends Error {}

const int =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new InvalidValue(`must be an integer`);
    const n = Number(raw);
    if (n < min || n > max) throw new InvalidValue(`must be between ${min} and ${max}`);
    return n;
  };

/** true/1/yes or false/0/no (any case); exported for processes that read one variable alone. */
export const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no', ''].includes(v)) return false;
  throw new InvalidValue('must be true or false');
};

const str: Parser<string> = (raw) => raw;

const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (raw) => {
    if (!values.includes(raw as T)) throw new InvalidValue(`must be one of ${values.join(', ')}`);
    return raw as T;
  };

const commaList = (raw: string) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const cidrList: Parser<string[]> = (raw) => {
  const items = commaList(raw);
  for (const item of items) {
    try {
      parseCidr(item);
    } catch {
      throw new InvalidValue(`"${item}" is not a CIDR range (e.g. 127.0.0.0/8)`);
    }
  }
  return items;
};

/** Fastify's `trustProxy`: off, every hop, a hop count, or the proxies' addresses / CIDR ranges. */
export type TrustProxy = boolean | number | string[];

// proxy-addr's names for the ranges a proxy usually sits in.
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

const trustProxy: Parser<TrustProxy> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['false', 'no', 'off', '0', ''].includes(v)) return false;
  if (['true', 'yes'].includes(v)) return true;
  if (/^\d+$/.test(v)) return int(1, 100)(v);
  const items = commaList(v);
  for (const item of items) {
    if (PROXY_RANGE_NAMES.includes(item)) continue;
    try {
      parseCidr(item.includes('/') ? item : `${item}/${item.includes(':') ? 128 : 32}`);
    } catch {
      throw new InvalidValue(
        `"${item}" is not an IP address or CIDR range (expected false, true, a hop count, or e.g. 10.0.0.0/8,loopback)`,
      );
    }
  }
  return items;
};

const redisUrl: Parser<string> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidValue('must be a redis:// or rediss:// URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new InvalidValue('must be a redis:// or rediss:// URL');
  }
  if (!/^\/?\d*$/.test(url.pathname))
    throw new InvalidValue('names no database number (e.g. redis://host:6379/0)');
  return raw;
};

const hostPortList: Parser<HostPort[]> = (raw) =>
  commaList(raw).map((item) => {
    try {
      return parseHostPort(item);
    } catch (err) {
      throw new InvalidValue(`has ${(err as Error).message}`);
    }
  });

const readableFile: Parser<string> = (raw) => {
  try {
    accessSync(raw, fsConstants.R_OK);
  } catch {
    throw new InvalidValue('must name a readable file');
  }
  return raw;
};

const base64Key: Parser<string> = (raw) => {
  const buf = Buffer.from(raw, 'base64');
  if (buf.length !== 32) throw new InvalidValue('must be 32 bytes, base64-encoded (openssl rand -base64 32)');
  return raw;
};

const absoluteUrl: Parser<string> = (raw) => {
  try {
    new URL(raw);
  } catch {
    throw new InvalidValue('must be an absolute URL');
  }
  return raw;
};

/** A Standard Webhooks signing secret: `whsec_` (optional) then 24 to 64 random bytes, base64. */
const signingSecret: Parser<string> = (raw) => {
  const b64 = raw.startsWith('whsec_') ? raw.slice(6) : raw;
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(b64) ? Buffer.from(b64, 'base64').length : 0;
  if (bytes < 24 || bytes > 64)
    throw new InvalidValue(
      'must be whsec_ followed by 24 to 64 random bytes, base64 (openssl rand -base64 32)',
    );
  return raw;
};

const postgresUrl: Parser<string> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidValue('must be a postgres:// URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new InvalidValue('must be a postgres:// or postgresql:// URL');
  return raw;
};

const ratio: Parser<number> = (raw) => {
  const n = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new InvalidValue('must be a number from 0 to 1');
  return n;
};

const sqlIdentifier: Parser<string> = (raw) => {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(raw))
    throw new InvalidValue('must be a plain SQL identifier (letters, digits, _; at most 63)');
  return raw;
};

export const configSpec = {
  PORT: { default: 3000, doc: 'HTTP port of the API.', parse: int(0, 65535) },
  HOST: { default: '0.0.0.0', doc: 'Interface the API listens on.', parse: str },
  REDIS_URL: { default: 'redis://127.0.0.1:6379', doc: 'Redis connection URL.', parse: redisUrl },
  REDIS_PREFIX: {
    default: '{hookline}',
    doc: 'Key prefix for every Redis key (hash-tagged so Redis Cluster keeps them on one slot).',
    parse: str,
  },
  REDIS_TLS_CA_FILE: {
    doc: 'PEM file of the certificate authority that signed Redis’s TLS certificate, for a `rediss://` REDIS_URL whose server the system CAs do not trust (a private CA). Unset: the system CAs.',
    parse: readableFile,
  },
  REDIS_SENTINELS: {
    doc: 'Comma-separated Sentinel `host:port`s (e.g. `10.0.0.5:26379,10.0.0.6:26379`): the master is found through Sentinel and followed on failover. REDIS_URL then brings only the user, password, database and `rediss://` (its host is not used). Requires REDIS_SENTINEL_NAME. docs/operations.md “Redis topologies”.',
    parse: hostPortList,
  },
  REDIS_SENTINEL_NAME: {
    doc: 'The master group name the Sentinels monitor (`sentinel monitor <name> …`); required with REDIS_SENTINELS.',
    parse: str,
  },
  REDIS_SENTINEL_PASSWORD: {
    doc: 'Password of the Sentinels themselves (`requirepass` in sentinel.conf), if they have one; the master’s is in REDIS_URL.',
    parse: str,
  },
  REDIS_CLUSTER_NODES: {
    doc: 'Comma-separated `host:port`s of some Redis Cluster nodes (the rest are discovered). REDIS_URL then brings only the user, password and `rediss://`; REDIS_PREFIX must hold a hash tag (`{…}`). Not with REDIS_SENTINELS.',
    parse: hostPortList,
  },
  ROLE: {
    default: 'all',
    doc: '`all` runs API and workers in one process, `api` only the API, `worker` only the workers.',
    parse: oneOf('all', 'api', 'worker'),
  },
  ADMIN_TOKEN: {
    doc: 'Bearer token with every right on every tenant; also the Bull Board password. Required (≥ 32 chars) in production; `dev-admin-token` otherwise.',
    parse: str,
  },
  ENCRYPTION_KEY: {
    doc: '32 random bytes, base64, encrypting secrets at rest (AES-256-GCM). Required in production; a fixed development key otherwise.',
    parse: base64Key,
  },
  ALLOW_HTTP_WEBHOOKS: { default: false, doc: 'Allow plain http:// webhook URLs.', parse: bool },
  ALLOWED_PRIVATE_CIDRS: {
    default: [] as string[],
    doc: 'Comma-separated CIDR ranges exempt from the SSRF block (e.g. `127.0.0.0/8` in development).',
    parse: cidrList,
  },
  RETRY_BASE_MS: {
    default: 10_000,
    doc: 'First retry delay; the n-th retry waits base·2^(n-1) ± 20 %.',
    parse: int(1, 86_400_000),
  },
  RETRY_MAX_DELAY_MS: {
    default: 3_600_000,
    doc: 'Upper bound of one retry delay (also caps Retry-After).',
    parse: int(1, 604_800_000),
  },
  DELIVERY_CONCURRENCY: {
    default: 100,
    doc: 'Requests in flight to subscribers per worker process: delivery jobs and a fan-out’s direct first attempts together.',
    parse: int(1, 10_000),
  },
  DELIVERY_STALL_MS: {
    doc: 'A worker process whose delivery slots have all been busy this long with none freed is stalled: `/readyz` answers 503 and `hookline_delivery_stalled` is 1. Unset: 110000, the longest one delivery can hold a slot (two requests of up to 30 s + 1 s, each after up to 22 s for an OAuth2 token, plus 4 s).',
    parse: int(100, 86_400_000),
  },
  FANOUT_CONCURRENCY: {
    default: 200,
    doc: 'Concurrent fan-out jobs per worker process. Each one waits for its direct first attempts (up to FANOUT_DIRECT_DETACH_MS each), mostly on the network: enough of them that one tenant’s slow or flooding subscriber does not hold up other tenants’ events (bench B6).',
    parse: int(1, 1_000),
  },
  FANOUT_DIRECT_MAX: {
    default: 1_000,
    doc: 'First attempts a fan-out job makes itself per publish call (no delivery job unless the attempt fails or is held); the rest are queued. 0 queues every delivery.',
    parse: int(0, 100_000),
  },
  FAIR_WAIT_MS: {
    default: 20,
    doc: 'Lighter tenants first: a tenant whose recent load (events accepted and attempts started in about the last second, more for runs that delivered nothing, plus its requests under way) is over twice that of another active tenant waits, at each step before a send (accepting a call, its fan-out, an attempt), while that tenant’s step is under way in the same process: at most this long a step, five times this long for a big call’s claim chunks and as much for its record slices. A flood or a failing or slow subscriber then adds little to other tenants’ latency (bench B6). 0 turns it off.',
    parse: int(0, 1_000),
  },
  FANOUT_DIRECT_DETACH_MS: {
    default: 250,
    doc: 'A direct first attempt under way this long no longer holds its fan-out job (a watch job covers it).',
    parse: int(10, 60_000),
  },
  MAX_IN_FLIGHT_PER_SUBSCRIPTION: {
    default: 50,
    doc: 'Requests under way at once to one subscription, across every worker process, when the subscription sets no `maxInFlight` (1-1000). Deliveries over it are parked in Redis, in arrival order, and released as its requests finish (no attempt spent). 50, MAX_CONNECTIONS_PER_ORIGIN’s default: past it a process’s requests to one origin queue for a socket anyway. A hanging subscriber holds at most half of one process’s default DELIVERY_CONCURRENCY, while one answering in 50 ms still gets about 1,000 requests/s.',
    parse: int(1, 1_000),
  },
  IN_FLIGHT_LEASE_MS: {
    default: 20_000,
    doc: 'Lease of one in-flight request on its subscription’s cap, renewed every quarter of it while the request is under way: a killed process’s requests stop counting within this time, and its parked deliveries are released within half of it after that.',
    parse: int(1_000, 600_000),
  },
  MAX_CONNECTIONS_PER_ORIGIN: {
    default: 50,
    doc: 'Upper bound of open sockets to one subscriber origin per worker.',
    parse: int(1, 10_000),
  },
  DELIVERY_LOG_TTL_DAYS: {
    default: 7,
    doc: 'Days delivery records and events are kept.',
    parse: int(1, 365),
  },
  BREAKER_FAILURES: {
    default: 20,
    doc: 'Consecutive failed attempts that open a subscription’s circuit breaker.',
    parse: int(1, 100_000),
  },
  BREAKER_COOLDOWN_MS: {
    default: 60_000,
    doc: 'How long an open breaker holds deliveries before one probe.',
    parse: int(1, 86_400_000),
  },
  DISABLE_AFTER_HOURS: {
    default: 24,
    doc: 'Hours of failing without a success before a subscription is disabled.',
    parse: int(0, 8760),
  },
  DISABLE_AFTER_MS: {
    doc: 'Overrides DISABLE_AFTER_HOURS in milliseconds (tests).',
    parse: int(1, 2_147_483_647),
  },
  LOG_LEVEL: {
    default: 'info',
    doc: 'pino level.',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  NODE_ENV: {
    default: 'development',
    doc: '`production` enforces ADMIN_TOKEN and ENCRYPTION_KEY.',
    parse: str,
  },
  API_RATE_LIMIT_PER_MINUTE: {
    default: 6000,
    doc: 'Requests per minute per caller: per API client or the admin once authenticated, else per source address.',
    parse: int(1, 10_000_000),
  },
  AUTH_FAILURES_PER_MINUTE: {
    default: 30,
    doc: 'Failed authentications (bad API token, bad client credentials at /v1/auth/token, bad Bull Board password) per source address per minute; past it that address gets 429 before its credentials are checked.',
    parse: int(1, 1_000_000),
  },
  TRUST_PROXY: {
    default: false as TrustProxy,
    doc: 'Which X-Forwarded-For hops to believe for the source address: `false` (the socket address), a hop count, or comma-separated proxy addresses/CIDR ranges (`loopback`, `linklocal`, `uniquelocal` too). `true` believes any, so only behind a proxy that overwrites the header.',
    parse: trustProxy,
  },
  MAX_SUBSCRIPTIONS_PER_TENANT: {
    default: 1000,
    doc: 'Subscriptions a tenant may have (soft-deleted ones do not count; a restore does); past it 409 `limit_exceeded`.',
    parse: int(1, 10_000_000),
  },
  MAX_CLIENTS_PER_TENANT: {
    default: 100,
    doc: 'API clients per tenant (platform clients count as one more tenant); past it 409 `limit_exceeded`.',
    parse: int(1, 1_000_000),
  },
  MAX_FILTER_BYTES: {
    default: 16_384,
    doc: 'Largest subscription `filter`, as JSON bytes; larger is 400 at `/filter`.',
    parse: int(64, 1_048_576),
  },
  MAX_FILTER_DEPTH: {
    default: 10,
    doc: 'How deep objects and arrays may nest in a subscription `filter` (a leaf `{path, op, value}` is 1, an `in` list adds 1, each `and`/`or` group 2); deeper is 400 at `/filter`.',
    parse: int(2, 64),
  },
  MAX_SEMI_SPACE_MB: {
    doc: 'V8 young-generation semi-space cap (MB) `npm start` runs with: at start Hookline replaces its own process (same PID, `process.execve`) with one started with `--max-semi-space-size` set to it. Unset: 8 with tracing off (short GC pauses at load: one tenant’s flood then costs another’s p99 ~4 ms pauses instead of ~17-28 ms), V8’s own sizing with tracing on (spans waiting for export made a small young generation cost 20-40 % more CPU). 0: V8’s own sizing. Ignored when the flag is already given (node’s flags or NODE_OPTIONS).',
    parse: int(0, 1024),
  },
  SHUTDOWN_TIMEOUT_MS: {
    default: 30_000,
    doc: 'How long SIGTERM waits for in-flight deliveries before closing.',
    parse: int(1000, 600_000),
  },
  METRICS_PORT: {
    doc: 'Port of a separate listener serving GET /metrics and /healthz, for worker-only processes (the API serves /metrics itself). Unset: none.',
    parse: int(0, 65535),
  },
  PUBLIC_URL: { doc: 'Base URL the API is reached at (used in the OpenAPI servers list).', parse: str },
  DATABASE_URL: {
    doc: 'PostgreSQL connection URL (`postgres://user:pass@host:5432/db`). Set: events, delivery records and attempts live in PostgreSQL and Redis keeps only what is pending (docs/history-postgres.md). Unset: Redis keeps the history.',
    parse: postgresUrl,
  },
  DATABASE_SCHEMA: {
    default: 'public',
    doc: 'PostgreSQL schema of the history tables (created if missing; migrations run at start).',
    parse: sqlIdentifier,
  },
  DATABASE_POOL_MAX: { default: 10, doc: 'PostgreSQL connections per process.', parse: int(1, 200) },
  HISTORY_BATCH_SIZE: {
    default: 500,
    doc: 'History records written to PostgreSQL per statement.',
    parse: int(1, 10_000),
  },
  HISTORY_FLUSH_INTERVAL_MS: {
    default: 200,
    doc: 'Longest a history record waits in Redis for a fuller batch before it is written.',
    parse: int(1, 60_000),
  },
  HISTORY_PARTITIONS_AHEAD_DAYS: {
    default: 2,
    doc: 'Days ahead with history partitions made in advance.',
    parse: int(1, 30),
  },
  OPS_WEBHOOK_URL: {
    doc: 'The platform’s URL for operational events (`subscription.disabled`, `delivery.exhausted`) of every tenant; https unless ALLOW_HTTP_WEBHOOKS, SSRF-checked at start. Unset: none are sent there.',
    parse: absoluteUrl,
  },
  OPS_WEBHOOK_SECRET: {
    doc: 'Standard Webhooks secret (`whsec_…`) signing what goes to OPS_WEBHOOK_URL; required with it.',
    parse: signingSecret,
  },
  // OpenTelemetry's standard variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
  // Tracing is off unless OTEL_TRACES_EXPORTER or an OTLP endpoint asks for it; the SDK is loaded only then.
  OTEL_SDK_DISABLED: {
    default: false,
    doc: 'OpenTelemetry: `true` turns tracing off whatever the other OTEL_* variables say.',
    parse: bool,
  },
  OTEL_TRACES_EXPORTER: {
    doc: 'OpenTelemetry: `otlp` exports spans over OTLP/HTTP, `console` prints them (development), `none` turns tracing off. Unset: `otlp` when an OTLP endpoint is set, else tracing is off.',
    parse: oneOf('otlp', 'console', 'none'),
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    doc: 'OpenTelemetry: base URL of the OTLP/HTTP collector (spans go to `<url>/v1/traces`); setting it turns tracing on. Default with OTEL_TRACES_EXPORTER=otlp: http://localhost:4318.',
    parse: absoluteUrl,
  },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: {
    doc: 'OpenTelemetry: full URL spans are POSTed to (wins over OTEL_EXPORTER_OTLP_ENDPOINT); setting it turns tracing on.',
    parse: absoluteUrl,
  },
  OTEL_EXPORTER_OTLP_PROTOCOL: {
    default: 'http/protobuf' as 'http/protobuf' | 'http/json',
    doc: 'OpenTelemetry: `http/protobuf` or `http/json` (gRPC is not supported).',
    parse: oneOf('http/protobuf', 'http/json'),
  },
  OTEL_SERVICE_NAME: { default: 'hookline', doc: 'OpenTelemetry: `service.name` of the spans.', parse: str },
  OTEL_TRACES_SAMPLER: {
    default: 'parentbased_always_on' as TracesSampler,
    doc: "OpenTelemetry: `always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off` or `parentbased_traceidratio`. The decision is taken at publish: an event's later spans follow it.",
    parse: oneOf<TracesSampler>(
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ),
  },
  OTEL_TRACES_SAMPLER_ARG: {
    default: 1,
    doc: 'OpenTelemetry: the ratio of the `traceidratio` samplers, 0 to 1.',
    parse: ratio,
  },
  OTEL_BSP_SCHEDULE_DELAY: {
    default: 5_000,
    doc: 'OpenTelemetry: longest a finished span waits before it is exported (ms).',
    parse: int(0, 3_600_000),
  },
  OTEL_BSP_MAX_QUEUE_SIZE: {
    default: 8_192,
    doc: 'OpenTelemetry: finished spans waiting for export; past it new ones are dropped. Hookline’s default is 8192 (the specification’s 2048 drops spans at a few thousand deliveries per second).',
    parse: int(1, 1_000_000),
  },
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: {
    default: 512,
    doc: 'OpenTelemetry: spans per export request (at most OTEL_BSP_MAX_QUEUE_SIZE).',
    parse: int(1, 1_000_000),
  },
  OTEL_BSP_EXPORT_TIMEOUT: {
    default: 30_000,
    doc: 'OpenTelemetry: how long one export may take (ms).',
    parse: int(1, 3_600_000),
  },
} satisfies Record<string, VarSpec<unknown>>;

type Spec = typeof configSpec;
type ValueOf<K extends keyof Spec> = ReturnType<Spec[K]['parse']>;

export type Config = {
  [K in keyof Spec]: Spec[K] extends { default: unknown } ? ValueOf<K> : ValueOf<K> | undefined;
} & {
  ADMIN_TOKEN: string;
  ENCRYPTION_KEY: string;
  /** Derived: DISABLE_AFTER_MS ?? DISABLE_AFTER_HOURS in ms. */
  disableAfterMs: number;
  isProduction: boolean;
  /** Derived from the OTEL_* variables: what tracing exports, or undefined while it is off. */
  tracing?: TracingSettings;
};

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const DEV_ADMIN_TOKEN = 'dev-admin-token';
// Fixed so that development data stays readable across restarts; refused in production.
export const DEV_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

/** Reads and validates the environment. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(configSpec) as [string, VarSpec<unknown>][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      out[name] = spec.default;
      continue;
    }
    try {
      out[name] = spec.parse(raw);
    } catch (err) {
      problems.push(
        `${name} ${(err as Error).message} (got "${/TOKEN|KEY|SECRET|PASSWORD/.test(name) ? '<redacted>' : raw.replace(/\/\/[^@/]*@/, '//<redacted>@')}")`,
      );
    }
  }
  const isProduction = out.NODE_ENV === 'production';
  if (isProduction) {
    const token = out.ADMIN_TOKEN as string | undefined;
    if (!token) problems.push('ADMIN_TOKEN is required in production');
    else if (token.length < 32 || new Set(token).size < 10) {
      problems.push('ADMIN_TOKEN is too weak for production (use ≥ 32 random characters)');
    }
    if (!out.ENCRYPTION_KEY)
      problems.push('ENCRYPTION_KEY is required in production (openssl rand -base64 32)');
    else if (
      out.ENCRYPTION_KEY === DEV_ENCRYPTION_KEY ||
      new Set(Buffer.from(out.ENCRYPTION_KEY as string, 'base64')).size < 8
    ) {
      problems.push('ENCRYPTION_KEY is too weak for production');
    }
  }
  if (typeof out.OPS_WEBHOOK_URL === 'string') {
    const errors: { path: string; message: string }[] = [];
    parseWebhookUrl(out.OPS_WEBHOOK_URL, { allowHttp: out.ALLOW_HTTP_WEBHOOKS as boolean }, '', errors);
    problems.push(...errors.map((e) => `OPS_WEBHOOK_URL ${e.message}`));
    if (!out.OPS_WEBHOOK_SECRET) problems.push('OPS_WEBHOOK_SECRET is required with OPS_WEBHOOK_URL');
  }
  problems.push(...redisTopologyProblems(out));
  if (problems.length > 0) throw new ConfigError(problems);
  out.ADMIN_TOKEN ??= DEV_ADMIN_TOKEN;
  out.ENCRYPTION_KEY ??= DEV_ENCRYPTION_KEY;
  out.disableAfterMs =
    (out.DISABLE_AFTER_MS as number | undefined) ?? (out.DISABLE_AFTER_HOURS as number) * 3_600_000;
  out.isProduction = isProduction;
  out.tracing = tracingOf(out as Config);
  return out as Config;
}

/** REDIS_* variables that make sense alone but not together (docs/operations.md "Redis topologies"). */
function redisTopologyProblems(out: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const set = (name: string) =>
    out[name] !== undefined && !(Array.isArray(out[name]) && out[name].length === 0);
  if (set('REDIS_SENTINELS') && !set('REDIS_SENTINEL_NAME'))
    problems.push(
      'REDIS_SENTINELS requires REDIS_SENTINEL_NAME (the master group name the Sentinels monitor)',
    );
  for (const name of ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD'])
    if (set(name) && !set('REDIS_SENTINELS')) problems.push(`${name} is set but REDIS_SENTINELS is not`);
  if (set('REDIS_CLUSTER_NODES') && set('REDIS_SENTINELS'))
    problems.push(
      'REDIS_CLUSTER_NODES and REDIS_SENTINELS are set: choose one topology (Cluster or Sentinel)',
    );
  const url = typeof out.REDIS_URL === 'string' ? new URL(out.REDIS_URL) : undefined;
  if (set('REDIS_CLUSTER_NODES')) {
    if (url && url.pathname.length > 1 && Number(url.pathname.slice(1)) !== 0)
      problems.push(
        'REDIS_URL names a database other than 0, which REDIS_CLUSTER_NODES (Redis Cluster) does not have',
      );
    const prefix = String(out.REDIS_PREFIX);
    if (!/\{[^}]+\}/.test(prefix))
      problems.push(
        `REDIS_PREFIX must hold a hash tag such as {hookline} with REDIS_CLUSTER_NODES (Lua scripts and queues need one slot; got "${prefix}")`,
      );
  }
  if (set('REDIS_TLS_CA_FILE') && url && url.protocol !== 'rediss:')
    problems.push('REDIS_TLS_CA_FILE is set but REDIS_URL is not rediss:// (TLS)');
  return problems;
}

/** Tracing as the OTEL_* variables ask for it: on with an exporter, or with an OTLP endpoint. */
function tracingOf(c: Config): TracingSettings | undefined {
  if (c.OTEL_SDK_DISABLED || c.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const endpoint = c.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!c.OTEL_TRACES_EXPORTER && !endpoint && !c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  return {
    exporter: c.OTEL_TRACES_EXPORTER ?? 'otlp',
    url:
      c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
      `${(endpoint ?? 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`,
    protocol: c.OTEL_EXPORTER_OTLP_PROTOCOL,
    serviceName: c.OTEL_SERVICE_NAME,
    serviceVersion: VERSION,
    sampler: c.OTEL_TRACES_SAMPLER,
    samplerArg: c.OTEL_TRACES_SAMPLER_ARG,
    batch: {
      scheduledDelayMillis: c.OTEL_BSP_SCHEDULE_DELAY,
      maxQueueSize: c.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: Math.min(c.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, c.OTEL_BSP_MAX_QUEUE_SIZE),
      exportTimeoutMillis: c.OTEL_BSP_EXPORT_TIMEOUT,
    },
  };
}

/** A config for tests and embedding: defaults plus overrides, no environment. */
export function testConfig(overrides: Partial<Record<keyof Spec, string>> = {}): Config {
  return loadConfig({
    REDIS_URL: process.env.REDIS_URL,
    REDIS_PREFIX: `{hl-test-${randomBytes(6).toString('hex')}}`,
    LOG_LEVEL: 'silent',
    ALLOW_HTTP_WEBHOOKS: 'true',
    ALLOWED_PRIVATE_CIDRS: '127.0.0.1/32,::1/128',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...overrides,
  });
}

export const usesDevDefaults = (c: Config) => ({
  adminToken: c.ADMIN_TOKEN === DEV_ADMIN_TOKEN,
  encryptionKey: c.ENCRYPTION_KEY === DEV_ENCRYPTION_KEY,
});
