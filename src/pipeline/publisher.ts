// Adds validated events to the events queue, once per id within 24 h. Used by the API and
// exported for any Node process (`import { createPublisher } from 'hookline'`).
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseEvent, sealReportSecret, type HooklineEvent } from '../domain/event.js';
import { HooklineError, validationError, type FieldError } from '../domain/errors.js';
import { createSecretBox, type SecretBox } from '../crypto.js';
import { bool, DEV_ENCRYPTION_KEY } from '../config.js';
import { createUrlGuard, deliveryReportUrlErrors, type UrlGuard } from '../delivery/security.js';
import { createSsrfPolicy } from '../delivery/ssrf.js';
import { createRedis, keyspace, type Keys } from '../redis/client.js';
import { EVENTS_QUEUE, type EventJobData } from './jobs.js';

export const IDEMPOTENCY_SECONDS = 24 * 3600;
/** How long an id is held while its events are being queued. */
const CLAIM_SECONDS = 120;
/** Ids per claim or confirm command: bounds its arguments (library callers have no batch cap). */
export const ID_CHUNK = 5_000;

/**
 * SET key 1 EX ttl NX per (tenant, id) key: 1 where claimed. An id that 0.3 claimed for the same
 * tenant (a key by id alone, the tenant its value) is not claimed again: a producer's retry across
 * the upgrade stays a duplicate. KEYS: the idempotency keys, then their 0.3 keys. ARGV: ttl, tenants.
 */
const CLAIM = `
local n, out = #KEYS / 2, {}
for i = 1, n do
  if redis.call('GET', KEYS[n + i]) == ARGV[i + 1] then out[i] = 0
  else out[i] = redis.call('SET', KEYS[i], 1, 'EX', ARGV[1], 'NX') and 1 or 0 end
end
return out
`;

/** EXPIRE per key. KEYS: idempotency keys. ARGV: ttl. */
const CONFIRM = `
for _, k in ipairs(KEYS) do redis.call('EXPIRE', k, ARGV[1]) end
return #KEYS
`;

interface PublisherCommands {
  hlClaimIds(numKeys: number, ...args: (string | number)[]): Promise<number[]>;
  hlConfirmIds(numKeys: number, ...args: (string | number)[]): Promise<number>;
}

export interface PublishResult {
  id: string;
  duplicate: boolean;
}

export interface Publisher {
  /** Validates and enqueues one event; throws a validation_error naming each bad field. */
  publish(input: unknown): Promise<PublishResult>;
  /** Validates all first (nothing is queued if any is bad), then enqueues in one round trip. */
  publishBatch(inputs: unknown[]): Promise<PublishResult[]>;
  /** Enqueues already-validated events (the API validated them with the route schema). */
  enqueue(events: HooklineEvent[]): Promise<PublishResult[]>;
  close(): Promise<void>;
}

export interface PublisherOptions {
  /** Defaults to REDIS_URL or redis://127.0.0.1:6379. */
  redisUrl?: string;
  /** Defaults to REDIS_PREFIX or {hookline}. */
  prefix?: string;
  /** An existing producer connection (not closed by the publisher). */
  connection?: Redis;
  /** An existing events queue (not closed by the publisher). */
  queue?: Queue<EventJobData>;
  removeOnFailAgeSeconds?: number;
  /** Called with the number of events newly queued (metrics). */
  onAccepted?: (count: number) => void;
  /**
   * Encrypts per-event deliveryReport secrets (always: a value that looks encrypted is a plain
   * string too). Defaults to ENCRYPTION_KEY (the development key when unset): producers must use
   * the same key as the workers.
   */
  box?: SecretBox;
  /**
   * Events' own deliveryReport URLs are checked as the API checks them: plain http:// only when
   * allowed (default: ALLOW_HTTP_WEBHOOKS=true), then the SSRF guard, which exempts
   * `allowedPrivateCidrs` (default: ALLOWED_PRIVATE_CIDRS). `urlGuard` replaces that guard.
   */
  allowHttp?: boolean;
  allowedPrivateCidrs?: string[];
  urlGuard?: UrlGuard;
}

/** A boolean variable, read as the server's config reads it. */
function envBool(name: string): boolean {
  try {
    return bool(process.env[name] ?? '');
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`, { cause: err });
  }
}

const envList = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function createPublisher(opts: PublisherOptions = {}): Publisher {
  const prefix = opts.prefix ?? process.env.REDIS_PREFIX ?? '{hookline}';
  const ownsConnection = !opts.connection;
  const redis =
    opts.connection ??
    createRedis(opts.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'producer');
  const keys: Keys = keyspace(prefix);
  // One scripted command per call for all of its ids, however many events it carries.
  redis.defineCommand('hlClaimIds', { lua: CLAIM });
  redis.defineCommand('hlConfirmIds', { lua: CONFIRM });
  const commands = redis as unknown as PublisherCommands;
  const box = opts.box ?? createSecretBox(process.env.ENCRYPTION_KEY || DEV_ENCRYPTION_KEY);
  const ownsQueue = !opts.queue;
  const queue = opts.queue ?? new Queue<EventJobData>(EVENTS_QUEUE, { connection: redis, prefix });
  const allowHttp = opts.allowHttp ?? envBool('ALLOW_HTTP_WEBHOOKS');
  const guard =
    opts.urlGuard ??
    createUrlGuard(
      createSsrfPolicy({
        allowedCidrs: opts.allowedPrivateCidrs ?? envList(process.env.ALLOWED_PRIVATE_CIDRS),
      }),
    );
  /** Throws a validation_error for events whose deliveryReport URL may not be sent to. */
  async function checkReportUrls(events: HooklineEvent[], base: (i: number) => string): Promise<void> {
    const errors = await deliveryReportUrlErrors(events, base, { allowHttp, guard });
    if (errors.length > 0) throw validationError(errors);
  }
  const jobOpts = {
    attempts: 25,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: true,
    removeOnFail: { age: opts.removeOnFailAgeSeconds ?? 7 * 86400 },
  };

  async function enqueue(events: HooklineEvent[]): Promise<PublishResult[]> {
    if (events.length === 0) return [];
    // Claim each id briefly first; the claim becomes the 24 h idempotency key only once the
    // events are queued, so a failure in between never turns a retry into a "duplicate".
    // Ids are per tenant: another tenant's event of the same id is another event.
    const idemKeys = events.map((e) => keys.idem(e.tenantId, e.id));
    const replies: number[] = [];
    try {
      for (let i = 0; i < idemKeys.length; i += ID_CHUNK) {
        const chunk = events.slice(i, i + ID_CHUNK);
        replies.push(
          ...(await commands.hlClaimIds(
            chunk.length * 2,
            ...idemKeys.slice(i, i + ID_CHUNK),
            ...chunk.map((e) => keys.legacyIdem(e.id)),
            CLAIM_SECONDS,
            ...chunk.map((e) => e.tenantId),
          )),
        );
      }
    } catch (err) {
      // Ids an earlier chunk claimed are released, so the caller's retry is not a "duplicate".
      const claimed = idemKeys.filter((_, i) => replies[i] === 1);
      if (claimed.length > 0) await redis.del(...claimed).catch(() => undefined);
      throw new HooklineError('unavailable', 'could not enqueue events; retry', undefined, {
        cause: String(err),
      });
    }
    const fresh: HooklineEvent[] = [];
    const seen = new Set<string>();
    const results = events.map((e, i) => {
      const claimed = replies[i] === 1 && !seen.has(idemKeys[i]!);
      seen.add(idemKeys[i]!);
      if (claimed) fresh.push(sealReportSecret(e, box));
      return { id: e.id, duplicate: !claimed };
    });
    if (fresh.length > 0) {
      try {
        // One job for the whole call: the fan-out handles its events in one pipeline and one addBulk.
        await queue.add(fresh.length === 1 ? fresh[0]!.type : 'batch', { events: fresh }, jobOpts);
      } catch (err) {
        // Not queued: release the ids so the caller's retry is not taken for a duplicate.
        await redis.del(...fresh.map((e) => keys.idem(e.tenantId, e.id))).catch(() => undefined);
        throw new HooklineError('unavailable', 'could not enqueue events; retry', undefined, {
          cause: String(err),
        });
      }
      const confirm = fresh.map((e) => keys.idem(e.tenantId, e.id));
      // Queued is accepted: a failed confirmation only shortens the idempotency window.
      for (let i = 0; i < confirm.length; i += ID_CHUNK) {
        const chunk = confirm.slice(i, i + ID_CHUNK);
        await commands.hlConfirmIds(chunk.length, ...chunk, IDEMPOTENCY_SECONDS).catch(() => undefined);
      }
      opts.onAccepted?.(fresh.length);
    }
    return results;
  }

  return {
    async publish(input) {
      const event = parseEvent(input);
      await checkReportUrls([event], () => '');
      const [result] = await enqueue([event]);
      return result!;
    },
    async publishBatch(inputs) {
      const errors: FieldError[] = [];
      const events: HooklineEvent[] = [];
      const now = Date.now();
      inputs.forEach((input, i) => {
        try {
          events.push(parseEvent(input, `/${i}`, now));
        } catch (err) {
          if (err instanceof HooklineError && err.errors) errors.push(...err.errors);
          else throw err;
        }
      });
      if (errors.length > 0) throw validationError(errors);
      await checkReportUrls(events, (i) => `/${i}`);
      return enqueue(events);
    },
    enqueue,
    async close() {
      if (ownsQueue) await queue.close();
      if (ownsConnection) await redis.quit().catch(() => undefined);
    },
  };
}
