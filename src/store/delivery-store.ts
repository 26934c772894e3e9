// Delivery records (SPEC §4): a hash per delivery plus a list of attempts, written in one
// pipeline per attempt without reading first. Indexed per subscription and per event.
import type { ChainableCommander, Redis } from 'ioredis';
import { validationError } from '../domain/errors.js';
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
  /** 0 for the fan-out's delivery, n for the n-th re-drive (retry, recover, replay). */
  series?: number;
  /** The delivery this one re-drives. */
  retryOf?: string;
  /** The delivery that re-drove this one. */
  redrivenTo?: string;
}

export interface NewDelivery {
  id: string;
  eventId: string;
  subscriptionId: string;
  tenantId: string;
  target?: string;
  series?: number;
  retryOf?: string;
}

export interface ScanOptions {
  status?: DeliveryStatus;
  /** Creation-time window, epoch ms, inclusive. */
  since?: number;
  until?: number;
  limit: number;
  /** Where the previous page ended (opaque). */
  cursor?: string;
  /** Index entries examined at most per call: a filtered page may come back short, with a cursor. */
  budget?: number;
  withAttempts?: boolean;
}

interface Entry {
  id: string;
  score: number;
}

/** Index order: newest first, ties by id descending (as ZREVRANGEBYSCORE returns them). */
const before = (a: Entry, b: Entry) => a.score > b.score || (a.score === b.score && a.id > b.id);
const encodeCursor = (e: Entry) => Buffer.from(`${e.score}|${e.id}`).toString('base64url');
function decodeCursor(c: string): Entry | undefined {
  const m = /^(\d+)\|(.+)$/.exec(Buffer.from(c, 'base64url').toString());
  return m ? { score: Number(m[1]), id: m[2]! } : undefined;
}

/**
 * Runs a pipeline and returns its replies, throwing the first command error. ioredis reports a
 * failed command (Redis down, max retries reached) inside the replies instead of rejecting, so a
 * caller that only looks at values would take a lost write for "nothing to do".
 */
export async function execAll(pipe: ChainableCommander): Promise<unknown[]> {
  const replies = (await pipe.exec()) ?? [];
  const failed = replies.find(([err]) => err);
  if (failed) throw failed[0];
  return replies.map(([, v]) => v);
}

/** Writes a pending record (keeping an existing one's status), indexes it, returns the status. */
const ADD_PENDING = `
local rec, idx, evt = KEYS[1], KEYS[2], KEYS[3]
local ttl = tonumber(ARGV[8])
redis.call('HSET', rec, 'id', ARGV[1], 'eventId', ARGV[2], 'subscriptionId', ARGV[3], 'tenantId', ARGV[4],
  'target', ARGV[5], 'createdAt', ARGV[6])
if tonumber(ARGV[10]) > 0 then redis.call('HSET', rec, 'series', ARGV[10], 'retryOf', ARGV[11]) end
redis.call('HSETNX', rec, 'status', 'pending')
redis.call('HSETNX', rec, 'updatedAt', ARGV[6])
redis.call('EXPIRE', rec, ttl)
redis.call('ZADD', idx, ARGV[7], ARGV[1])
redis.call('ZREMRANGEBYSCORE', idx, '-inf', '(' .. ARGV[9])
redis.call('EXPIRE', idx, ttl)
redis.call('SADD', evt, ARGV[1])
redis.call('EXPIRE', evt, ttl)
return redis.call('HGET', rec, 'status')
`;

const RECORD_ATTEMPT = `
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updatedAt', ARGV[3], 'nextAttemptAt', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
`;

interface RecordAttemptCommand {
  hlRecordAttempt(...args: (string | number)[]): Promise<unknown>;
}

interface AddPendingPipeline {
  hlAddPending(...args: (string | number)[]): ChainableCommander;
}

export function createDeliveryStore(redis: Redis, keys: Keys, ttlSeconds: number) {
  redis.defineCommand('hlAddPending', { numberOfKeys: 3, lua: ADD_PENDING });
  redis.defineCommand('hlRecordAttempt', { numberOfKeys: 2, lua: RECORD_ATTEMPT });
  const store = {
    ttlSeconds,
    /**
     * Adds pending records to a pipeline; an existing record (re-run fan-out) keeps its status.
     * Returns the pipeline index whose reply is the record's status after the write.
     */
    addPending(pipe: ChainableCommander, d: NewDelivery, now: number): number {
      // One scripted command instead of ten: the fan-out hot path pays per delivery.
      (pipe as unknown as AddPendingPipeline).hlAddPending(
        keys.delivery(d.id),
        keys.subDeliveries(d.subscriptionId),
        keys.eventDeliveries(d.eventId),
        d.id,
        d.eventId,
        d.subscriptionId,
        d.tenantId,
        d.target ?? 'subscription',
        new Date(now).toISOString(),
        now,
        ttlSeconds,
        // Entries older than the records they point to are trimmed, so the index never
        // outgrows the retention window however long the subscription lives.
        now - ttlSeconds * 1000,
        d.series ?? 0,
        d.retryOf ?? '',
      );
      return pipe.length - 1;
    },

    /** Appends an attempt and sets the new status in one round trip. */
    async recordAttempt(
      id: string,
      attempt: Attempt,
      status: DeliveryStatus,
      nextAttemptAt: number | null,
    ): Promise<void> {
      // One scripted command (no pipeline object) per attempt: this runs once per delivery.
      await (redis as unknown as RecordAttemptCommand).hlRecordAttempt(
        keys.delivery(id),
        keys.deliveryAttempts(id),
        JSON.stringify(attempt),
        status,
        new Date().toISOString(),
        nextAttemptAt ? new Date(nextAttemptAt).toISOString() : '',
        ttlSeconds,
      );
    },

    async setStatus(id: string, status: DeliveryStatus, nextAttemptAt: number | null = null): Promise<void> {
      await redis.hset(
        keys.delivery(id),
        'status',
        status,
        'updatedAt',
        new Date().toISOString(),
        'nextAttemptAt',
        nextAttemptAt ? new Date(nextAttemptAt).toISOString() : '',
      );
    },

    async getStatus(id: string): Promise<DeliveryStatus | undefined> {
      return ((await redis.hget(keys.delivery(id), 'status')) as DeliveryStatus | null) ?? undefined;
    },

    async get(id: string): Promise<DeliveryRecord | undefined> {
      const [[, h], [, atts]] = (await redis
        .pipeline()
        .hgetall(keys.delivery(id))
        .lrange(keys.deliveryAttempts(id), 0, -1)
        .exec()) as [[unknown, Record<string, string>], [unknown, string[]]];
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
    async idsForSubscription(
      subId: string,
      opts: { limit: number; before?: number; since?: number; until?: number },
    ) {
      const max =
        opts.before !== undefined
          ? `(${opts.before}`
          : opts.until !== undefined
            ? String(opts.until)
            : '+inf';
      const min = opts.since !== undefined ? String(opts.since) : '-inf';
      return redis.zrevrangebyscore(
        keys.subDeliveries(subId),
        max,
        min,
        'WITHSCORES',
        'LIMIT',
        0,
        opts.limit,
      );
    },

    /**
     * Walks delivery indexes (one per subscription) newest first, merged, keeping only `status`
     * when given. Returns a page of records and a cursor while entries remain.
     */
    async scan(
      indexKeys: string[],
      opts: ScanOptions,
    ): Promise<{ data: DeliveryRecord[]; nextCursor: string | null }> {
      let pos: Entry | undefined;
      if (opts.cursor) {
        pos = decodeCursor(opts.cursor);
        if (!pos)
          throw validationError([
            { path: '/querystring/cursor', message: 'is not a cursor of this listing' },
          ]);
      }
      const budget = opts.budget ?? 2_000;
      const batch = Math.min(Math.max(opts.limit * 2, 100), 1_000);
      const ids: string[] = [];
      let examined = 0;
      let done = false;
      while (ids.length < opts.limit && examined < budget && !done) {
        const { entries, exhausted } = await nextEntries(indexKeys, pos, opts, batch);
        if (entries.length === 0) {
          done = true;
          break;
        }
        let statuses: unknown[] = [];
        if (opts.status) {
          const pipe = redis.pipeline();
          for (const e of entries) pipe.hget(keys.delivery(e.id), 'status');
          statuses = await execAll(pipe);
        }
        let i = 0;
        for (; i < entries.length && ids.length < opts.limit; i++) {
          examined++;
          pos = entries[i]!;
          if (!opts.status || statuses[i] === opts.status) ids.push(entries[i]!.id);
        }
        done = exhausted && i === entries.length;
      }
      const data = await store.getMany(ids, opts.withAttempts ?? true);
      return { data, nextCursor: done || !pos ? null : encodeCursor(pos) };
    },
  };

  /** The next index entries after `pos`, merged across keys, up to where every key is known. */
  async function nextEntries(indexKeys: string[], pos: Entry | undefined, opts: ScanOptions, batch: number) {
    const max = pos ? String(pos.score) : opts.until !== undefined ? String(opts.until) : '+inf';
    const min = opts.since !== undefined ? String(opts.since) : '-inf';
    const read = async (keyList: string[], n: number) => {
      const pipe = redis.pipeline();
      for (const key of keyList) pipe.zrevrangebyscore(key, max, min, 'WITHSCORES', 'LIMIT', 0, n);
      return (await execAll(pipe)).map((flat) => {
        const got: Entry[] = [];
        const f = flat as string[];
        for (let i = 0; i < f.length; i += 2) got.push({ id: f[i]!, score: Number(f[i + 1]) });
        return got;
      });
    };
    const merged: Entry[] = [];
    let frontier: Entry | undefined;
    let todo = indexKeys;
    // Entries sharing the cursor's score are read again and skipped; a key that returns only
    // those is read again, wider.
    for (let n = batch; todo.length > 0; n *= 4) {
      const pages = await read(todo, n);
      const again: string[] = [];
      pages.forEach((got, k) => {
        const fresh = pos ? got.filter((e) => before(pos, e)) : got;
        const truncated = got.length === n;
        if (truncated && fresh.length === 0) return void again.push(todo[k]!);
        merged.push(...fresh);
        const last = got.at(-1);
        if (truncated && last && (!frontier || before(last, frontier))) frontier = last;
      });
      todo = again;
    }
    merged.sort((a, b) => (before(a, b) ? -1 : 1));
    const known = frontier ? merged.filter((e) => !before(frontier!, e)) : merged;
    return { entries: known, exhausted: frontier === undefined };
  }

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
    ...(h.series ? { series: Number(h.series) } : {}),
    ...(h.retryOf ? { retryOf: h.retryOf } : {}),
    ...(h.redrivenTo ? { redrivenTo: h.redrivenTo } : {}),
  };
}
