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

const CLAIM = luaScript<string[], [ttlSeconds: number, ...tenants: string[]], number[]>('claim-ids');
const CONFIRM = luaScript<string[], [ttlSeconds: number], number>('confirm-ids');

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
    // Claim each id briefly first; the claim becomes the 24 h idempotency key only once the
    // events are queued, so a failure in between never turns a retry into a "duplicate".
    // Ids are per tenant: another tenant's event of the same id is another event.
    const idemKeys = events.map((e) => keys.idem(e.tenantId, e.id));
    const replies: number[] = [];
    try {
      for (let i = 0; i < idemKeys.length; i += ID_CHUNK) {
        const chunk = events.slice(i, i + ID_CHUNK);
        replies.push(
          // One scripted command per chunk of ids, however many events a call carries.
          ...(await CLAIM.run(
            redis,
            [...idemKeys.slice(i, i + ID_CHUNK), ...chunk.map((e) => keys.legacyIdem(e.id))],
            [CLAIM_SECONDS, ...chunk.map((e) => e.tenantId)],
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
        await CONFIRM.run(redis, chunk, [IDEMPOTENCY_SECONDS]).catch(() => undefined);
      }
      opts.onAccepted?.(fresh.length);
    }
    return results;
  }

  return {
    enqueue,
    async close() {
      if (ownsQueue) await queue.close();
      if (ownsConnection) await redis.quit().catch(() => undefined);
    },
  };
}
