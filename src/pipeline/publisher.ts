// The enqueue half of publishing: claims each event's id (per tenant, 24 h idempotency) and adds
// the events to the events queue in one job. Events arrive here validated: every way in (the API
// and the exported publisher) goes through acceptEvents in src/services/events.ts, and
// src/services/publisher.ts builds the library's createPublisher on top of this. This file stays
// in the pipeline because it imports bullmq.
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { sealReportSecret, type HooklineEvent } from '../domain/event.js';
import { HooklineError } from '../domain/errors.js';
import type { SecretBox } from '../crypto.js';
import { createRedis, keyspace, type Keys } from '../redis/client.js';
import { luaScript } from '../redis/scripts.js';
import { EVENTS_QUEUE, type EventJobData } from './jobs.js';

export const IDEMPOTENCY_SECONDS = 24 * 3600;
/** How long an id is held while its events are being queued. */
const CLAIM_SECONDS = 120;
/** Ids per claim or confirm command: bounds its arguments (library callers have no batch cap). */
export const ID_CHUNK = 5_000;

const CLAIM = luaScript<string[], (string | number)[], number[]>('claim-ids');
const CONFIRM = luaScript<string[], string[], number>('confirm-ids');
const RELEASE = luaScript<string[], string[], number>('release-ids');

/** Hash shards of each bucket's claims: keeps each hash small enough to rehash without a pause. */
export const IDEM_SHARDS = 64;
/** Claims are kept in 6-hour buckets: an id stays a duplicate at least 24 h, at most 30 h. */
const BUCKET_SECONDS = 6 * 3_600;
/** Buckets looked at per claim: the current one, the 4 before it, the next (producers' clocks differ). */
const WINDOW_BUCKETS = IDEMPOTENCY_SECONDS / BUCKET_SECONDS + 2;
/** Ids per claim command: 8 keys and arguments each, well under the JS call-argument limit. */
const CLAIM_CHUNK = 2_000;

/** FNV-1a, 32 bits: the shard of a claim's field. */
function shardOf(field: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < field.length; i++) h = Math.imul(h ^ field.charCodeAt(i), 0x01000193);
  return (h >>> 0) % IDEM_SHARDS;
}

/** Where an event's idempotency claim lives: its field and the bucket it is written to now. */
export function claimOf(keys: Keys, tenantId: string, eventId: string, nowMs = Date.now()) {
  const field = `${tenantId}|${eventId}`;
  const slot = Math.floor(nowMs / 1000 / BUCKET_SECONDS);
  return { field, shard: shardOf(field), slot, bucket: keys.idemBucket(slot, shardOf(field)) };
}

export interface PublishResult {
  id: string;
  duplicate: boolean;
}

/** Idempotent enqueueing of events that were validated already. */
export interface EventEnqueuer {
  /** Enqueues validated events: a duplicate id (per tenant, 24 h) answers `duplicate: true`. */
  enqueue(events: HooklineEvent[]): Promise<PublishResult[]>;
  /** Closes the connection and queue it opened (not those it was given). */
  close(): Promise<void>;
}

/**
 * What `ctx.publisher` and the exported `createPublisher` offer. Declared here, beside the
 * enqueue it extends, because the service graph (./context.ts) holds one; implemented by
 * src/services/publisher.ts, whose validation is the API's (acceptEvents).
 */
export interface Publisher extends EventEnqueuer {
  /** Validates and enqueues one event; throws a validation_error naming each bad field. */
  publish(input: unknown): Promise<PublishResult>;
  /** Validates all first (nothing is queued if any is bad), then enqueues in one round trip. */
  publishBatch(inputs: unknown[]): Promise<PublishResult[]>;
}

export interface EnqueuerOptions {
  /** Key prefix (REDIS_PREFIX). */
  prefix: string;
  /** Encrypts per-event deliveryReport secrets as they are queued (the workers' ENCRYPTION_KEY). */
  box: SecretBox;
  /** An existing producer connection (not closed by close()). */
  connection?: Redis;
  /** Connects here when no connection is given. */
  redisUrl?: string;
  /** An existing events queue (not closed by close()). */
  queue?: Queue<EventJobData>;
  /** How long a failed events job is kept; default 7 days. */
  removeOnFailAgeSeconds?: number;
  /** Called with the number of events newly queued (metrics). */
  onAccepted?: (count: number) => void;
}

export function createEnqueuer(opts: EnqueuerOptions): EventEnqueuer {
  const { prefix, box } = opts;
  const ownsConnection = !opts.connection;
  const redis = opts.connection ?? createRedis(opts.redisUrl ?? 'redis://127.0.0.1:6379', 'producer');
  const keys: Keys = keyspace(prefix);
  CLAIM.define(redis);
  CONFIRM.define(redis);
  RELEASE.define(redis);
  const ownsQueue = !opts.queue;
  const queue = opts.queue ?? new Queue<EventJobData>(EVENTS_QUEUE, { connection: redis, prefix });
  const jobOpts = {
    attempts: 25,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: true,
    removeOnFail: { age: opts.removeOnFailAgeSeconds ?? 7 * 86400 },
  };

  async function enqueue(events: HooklineEvent[]): Promise<PublishResult[]> {
    if (events.length === 0) return [];
    // Claim each id briefly first; the claim holds for the 24 h window only once the events are
    // queued, so a failure in between never turns a retry into a "duplicate". Ids are per
    // tenant: another tenant's event of the same id is another event.
    const nowMs = Date.now();
    const now = Math.floor(nowMs / 1000);
    const claims = events.map((e) => claimOf(keys, e.tenantId, e.id, nowMs));
    // The written bucket lives until its last claim's window has passed.
    const ttl = (claims[0]!.slot + 1) * BUCKET_SECONDS - now + IDEMPOTENCY_SECONDS + 60;
    const replies: number[] = [];
    try {
      for (let i = 0; i < events.length; i += CLAIM_CHUNK) {
        const chunk = events.slice(i, i + CLAIM_CHUNK);
        const keyArgs: string[] = [];
        const args: (string | number)[] = [WINDOW_BUCKETS, now, now + CLAIM_SECONDS, ttl];
        chunk.forEach((e, j) => {
          const c = claims[i + j]!;
          // The written bucket first, the next one, then the window back to 24 h ago.
          keyArgs.push(c.bucket, keys.idemBucket(c.slot + 1, c.shard));
          for (let back = 1; back <= WINDOW_BUCKETS - 2; back++)
            keyArgs.push(keys.idemBucket(c.slot - back, c.shard));
          keyArgs.push(keys.legacyIdem(e.id));
          args.push(c.field, e.tenantId);
        });
        // One scripted command per chunk of ids, however many events a call carries.
        replies.push(...(await CLAIM.run(redis, keyArgs, args)));
      }
    } catch (err) {
      // Ids an earlier chunk claimed are released, so the caller's retry is not a "duplicate".
      const claimed = claims.filter((_, i) => replies[i] === 1);
      if (claimed.length > 0) await release(claimed).catch(() => undefined);
      throw new HooklineError('unavailable', 'could not enqueue events; retry', undefined, {
        cause: String(err),
      });
    }
    const fresh: HooklineEvent[] = [];
    const freshClaims: typeof claims = [];
    const seen = new Set<string>();
    const results = events.map((e, i) => {
      const c = claims[i]!;
      const claimed = replies[i] === 1 && !seen.has(c.field);
      seen.add(c.field);
      if (claimed) {
        fresh.push(sealReportSecret(e, box));
        freshClaims.push(c);
      }
      return { id: e.id, duplicate: !claimed };
    });
    if (fresh.length > 0) {
      try {
        // One job for the whole call: the fan-out handles its events in one pipeline and one addBulk.
        await queue.add(fresh.length === 1 ? fresh[0]!.type : 'batch', { events: fresh }, jobOpts);
      } catch (err) {
        // Not queued: release the ids so the caller's retry is not taken for a duplicate.
        await release(freshClaims).catch(() => undefined);
        throw new HooklineError('unavailable', 'could not enqueue events; retry', undefined, {
          cause: String(err),
        });
      }
      // Queued is accepted: a failed confirmation only shortens the idempotency window.
      await onClaims(CONFIRM, freshClaims).catch(() => undefined);
      opts.onAccepted?.(fresh.length);
    }
    return results;
  }

  /** Runs confirm-ids or release-ids over claims, ID_CHUNK at a time. */
  async function onClaims(script: typeof CONFIRM, claims: { bucket: string; field: string }[]) {
    for (let i = 0; i < claims.length; i += ID_CHUNK) {
      const chunk = claims.slice(i, i + ID_CHUNK);
      await script.run(
        redis,
        chunk.map((c) => c.bucket),
        chunk.map((c) => c.field),
      );
    }
  }
  const release = (claims: { bucket: string; field: string }[]) => onClaims(RELEASE, claims);

  return {
    enqueue,
    async close() {
      if (ownsQueue) await queue.close();
      if (ownsConnection) await redis.quit().catch(() => undefined);
    },
  };
}
