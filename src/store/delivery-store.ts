// Delivery records (SPEC §4): a hash per delivery plus a list of attempts, written in one
// pipeline per attempt without reading first. Indexed per subscription and per event.
import type { ChainableCommander, Redis } from 'ioredis';
import type { Keys } from '../redis.js';

export type DeliveryStatus = 'pending' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';
export const FINAL_STATUSES: ReadonlySet<DeliveryStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export interface Attempt {
  n: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  error: { code: string; message: string } | null;
  responseHeaders: Record<string, string>;
  responseBody: string;
}

export interface DeliveryRecord {
  id: string;
  eventId: string;
  subscriptionId: string;
  tenantId: string;
  /** `subscription` or `deliveryReport` (the event's own per-message destination). */
  target: string;
  status: DeliveryStatus;
  createdAt: string;
  updatedAt: string;
  nextAttemptAt: string | null;
  attempts: Attempt[];
}

export interface NewDelivery {
  id: string;
  eventId: string;
  subscriptionId: string;
  tenantId: string;
  target?: string;
}

export function createDeliveryStore(redis: Redis, keys: Keys, ttlSeconds: number) {
  const store = {
    ttlSeconds,
    /**
     * Adds pending records to a pipeline; an existing record (re-run fan-out) keeps its status.
     * Returns the pipeline index whose reply is the record's status after the write.
     */
    addPending(pipe: ChainableCommander, d: NewDelivery, now: number): number {
      const key = keys.delivery(d.id);
      const iso = new Date(now).toISOString();
      pipe
        .hset(key, 'id', d.id, 'eventId', d.eventId, 'subscriptionId', d.subscriptionId, 'tenantId', d.tenantId, 'target', d.target ?? 'subscription', 'createdAt', iso)
        .hsetnx(key, 'status', 'pending')
        .hsetnx(key, 'updatedAt', iso)
        .hget(key, 'status')
        .expire(key, ttlSeconds)
        .zadd(keys.subDeliveries(d.subscriptionId), now, d.id)
        .expire(keys.subDeliveries(d.subscriptionId), ttlSeconds)
        .sadd(keys.eventDeliveries(d.eventId), d.id)
        .expire(keys.eventDeliveries(d.eventId), ttlSeconds);
      return pipe.length - 6; // the hget above: 6th command from the end
    },

    /** Appends an attempt and sets the new status in one round trip. */
    async recordAttempt(id: string, attempt: Attempt, status: DeliveryStatus, nextAttemptAt: number | null): Promise<void> {
      const key = keys.delivery(id);
      await redis
        .pipeline()
        .rpush(keys.deliveryAttempts(id), JSON.stringify(attempt))
        .hset(key, 'status', status, 'updatedAt', new Date().toISOString(), 'nextAttemptAt', nextAttemptAt ? new Date(nextAttemptAt).toISOString() : '')
        .expire(key, ttlSeconds)
        .expire(keys.deliveryAttempts(id), ttlSeconds)
        .exec();
    },

    async setStatus(id: string, status: DeliveryStatus, nextAttemptAt: number | null = null): Promise<void> {
      await redis.hset(keys.delivery(id), 'status', status, 'updatedAt', new Date().toISOString(), 'nextAttemptAt', nextAttemptAt ? new Date(nextAttemptAt).toISOString() : '');
    },

    async getStatus(id: string): Promise<DeliveryStatus | undefined> {
      return ((await redis.hget(keys.delivery(id), 'status')) as DeliveryStatus | null) ?? undefined;
    },

    async get(id: string): Promise<DeliveryRecord | undefined> {
      const [[, h], [, atts]] = (await redis.pipeline().hgetall(keys.delivery(id)).lrange(keys.deliveryAttempts(id), 0, -1).exec()) as [
        [unknown, Record<string, string>],
        [unknown, string[]],
      ];
      return h && h.id ? toRecord(h, atts) : undefined;
    },

    async getMany(ids: string[], withAttempts = true): Promise<DeliveryRecord[]> {
      if (ids.length === 0) return [];
      const pipe = redis.pipeline();
      for (const id of ids) {
        pipe.hgetall(keys.delivery(id));
        if (withAttempts) pipe.lrange(keys.deliveryAttempts(id), 0, -1);
      }
      const res = (await pipe.exec()) ?? [];
      const out: DeliveryRecord[] = [];
      const step = withAttempts ? 2 : 1;
      for (let i = 0; i < res.length; i += step) {
        const h = res[i]![1] as Record<string, string>;
        if (h && h.id) out.push(toRecord(h, withAttempts ? (res[i + 1]![1] as string[]) : []));
      }
      return out;
    },

    async idsForEvent(eventId: string): Promise<string[]> {
      return redis.smembers(keys.eventDeliveries(eventId));
    },

    /** Newest first, by creation time; `before` is an exclusive score bound for paging. */
    async idsForSubscription(subId: string, opts: { limit: number; before?: number; since?: number; until?: number }) {
      const max = opts.before !== undefined ? `(${opts.before}` : opts.until !== undefined ? String(opts.until) : '+inf';
      const min = opts.since !== undefined ? String(opts.since) : '-inf';
      return redis.zrevrangebyscore(keys.subDeliveries(subId), max, min, 'WITHSCORES', 'LIMIT', 0, opts.limit);
    },
  };
  return store;
}

export type DeliveryStore = ReturnType<typeof createDeliveryStore>;

function toRecord(h: Record<string, string>, atts: string[]): DeliveryRecord {
  return {
    id: h.id!,
    eventId: h.eventId!,
    subscriptionId: h.subscriptionId!,
    tenantId: h.tenantId!,
    target: h.target ?? 'subscription',
    status: (h.status ?? 'pending') as DeliveryStatus,
    createdAt: h.createdAt!,
    updatedAt: h.updatedAt ?? h.createdAt!,
    nextAttemptAt: h.nextAttemptAt || null,
    attempts: atts.map((a) => JSON.parse(a) as Attempt),
  };
}
