// Adds validated events to the events queue, once per id within 24 h. Used by the API and
// exported for any Node process (`import { createPublisher } from 'hookline'`).
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseEvent, type HooklineEvent } from '../domain/event.js';
import { HooklineError, validationError, type FieldError } from '../domain/errors.js';
import { createRedis, keyspace, type Keys } from '../redis.js';
import { EVENTS_QUEUE, type EventJobData } from './names.js';

export const IDEMPOTENCY_SECONDS = 24 * 3600;

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
}

export function createPublisher(opts: PublisherOptions = {}): Publisher {
  const prefix = opts.prefix ?? process.env.REDIS_PREFIX ?? '{hookline}';
  const ownsConnection = !opts.connection;
  const redis = opts.connection ?? createRedis(opts.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'producer');
  const keys: Keys = keyspace(prefix);
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
    const pipe = redis.pipeline();
    for (const e of events) pipe.set(keys.idem(e.id), e.tenantId, 'EX', IDEMPOTENCY_SECONDS, 'NX');
    const res = (await pipe.exec()) ?? [];
    const fresh: HooklineEvent[] = [];
    const seen = new Set<string>();
    const results = events.map((e, i) => {
      const claimed = res[i]?.[1] === 'OK' && !seen.has(e.id);
      seen.add(e.id);
      if (claimed) fresh.push(e);
      return { id: e.id, duplicate: !claimed };
    });
    if (fresh.length > 0) {
      try {
        await queue.addBulk(fresh.map((e) => ({ name: e.type, data: e, opts: jobOpts })));
      } catch (err) {
        // Not queued: release the ids so the caller's retry is not taken for a duplicate.
        await redis.del(...fresh.map((e) => keys.idem(e.id))).catch(() => undefined);
        throw new HooklineError('unavailable', 'could not enqueue events; retry', undefined, { cause: String(err) });
      }
    }
    return results;
  }

  return {
    async publish(input) {
      const [result] = await enqueue([parseEvent(input)]);
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
      return enqueue(events);
    },
    enqueue,
    async close() {
      if (ownsQueue) await queue.close();
      if (ownsConnection) await redis.quit().catch(() => undefined);
    },
  };
}
