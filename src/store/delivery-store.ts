// Delivery records (SPEC §4): a hash per delivery plus a list of attempts, indexed per
// subscription (a sorted set) and per event (fields of the stored event's hash). A fan-out is
// one scripted command, and attempts that finish together are written by one command.
// Event ids are per tenant: an event is stored under its tenant and id. Events stored before 0.4
// (under their id alone) are still read, by the jobs that name them and by their tenant.
import type { ChainableCommander, Redis } from 'ioredis';
import type { Attempt, DeliveryRecord, DeliveryStatus } from '../domain/delivery-record.js';
import { validationError } from '../domain/errors.js';
import type { HooklineEvent } from '../domain/event.js';
import { staleRank } from '../domain/stale-status.js';
import type { Keys } from '../redis/client.js';
import { tickBatcher } from './batcher.js';

// The record's shape is the domain's (one schema for the store and every API answer).
export { FINAL_STATUSES } from '../domain/delivery-record.js';
export type { Attempt, DeliveryRecord, DeliveryStatus } from '../domain/delivery-record.js';
export { DELIVERY_STATUSES } from '../domain/delivery-record.js';

/**
 * Where an event is stored: under its tenant and id, or, without a tenant, under its id alone
 * (events stored before 0.4, named by jobs queued before 0.4).
 */
export interface EventRef {
  tenantId?: string;
  id: string;
}

export interface NewDelivery {
  id: string;
  eventId: string;
  subscriptionId: string;
  tenantId: string;
  target?: string;
  series?: number;
  retryOf?: string;
  /** Its destination's field in the message's status mark; absent: stale statuses are kept. */
  markField?: string;
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

/**
 * One fan-out (or re-drive) in one scripted command: per event, its stored copy — a hash whose
 * field `e` is the event JSON and whose other fields are its delivery ids — and per delivery a
 * pending record (an existing one, from a re-run fan-out, keeps its status) and its entry in the
 * subscription's index. Returns each delivery's status after the write, in order, `new` for a
 * record this command created, `dropped` for one it created `superseded`: a later status of its
 * message was delivered to its destination already (its message's status mark, below). (An event
 * stored before 0.4 stays where it is: re-driving it stores it again under its tenant, with the
 * new deliveries.)
 * KEYS: per event `evt` and its message's mark (`evt` when it has none), then per delivery
 * `rec`, `idx`.
 * ARGV: ttl, created (ISO), created (ms), trim bound (ms), event count, then per event: id, JSON,
 * delivery count, stale rank (0: none), then per delivery: id, subscription, tenant, target,
 * series, retryOf, mark field ('' = keeps stale statuses).
 */
const ADD_PENDING = `
local ttl, iso, now, trim = ARGV[1], ARGV[2], ARGV[3], '(' .. ARGV[4]
local k, a, out, trimmed = 1, 6, {}, {}
for _ = 1, tonumber(ARGV[5]) do
  local evt, mark = KEYS[k], KEYS[k + 1]
  local eventId, json, n, rank = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  k, a = k + 2, a + 4
  local marked = rank > 0 and redis.call('EXISTS', mark) == 1
  redis.call('HSET', evt, 'e', json)
  for _ = 1, n do
    local rec, idx, id = KEYS[k], KEYS[k + 1], ARGV[a]
    redis.call('HSET', rec, 'eventId', eventId, 'subscriptionId', ARGV[a + 1], 'tenantId', ARGV[a + 2],
      'createdAt', iso)
    if ARGV[a + 3] ~= 'subscription' then redis.call('HSET', rec, 'target', ARGV[a + 3]) end
    if ARGV[a + 4] ~= '0' then redis.call('HSET', rec, 'series', ARGV[a + 4], 'retryOf', ARGV[a + 5]) end
    local fresh = redis.call('HSETNX', rec, 'status', 'pending')
    local dropped = false
    if fresh == 1 and marked and ARGV[a + 6] ~= '' then
      local by = redis.call('HGET', mark, ARGV[a + 6])
      if by and tonumber(string.sub(by, 1, 1)) > rank then
        redis.call('HSET', rec, 'status', 'superseded', 'supersededBy', string.sub(by, 3))
        dropped = true
      end
    end
    redis.call('HSETNX', rec, 'updatedAt', iso)
    redis.call('EXPIRE', rec, ttl)
    redis.call('ZADD', idx, now, id)
    if not trimmed[idx] then
      trimmed[idx] = true
      redis.call('ZREMRANGEBYSCORE', idx, '-inf', trim)
      redis.call('EXPIRE', idx, ttl)
    end
    redis.call('HSET', evt, id, '')
    out[#out + 1] = dropped and 'dropped' or fresh == 1 and 'new' or redis.call('HGET', rec, 'status')
    k, a = k + 2, a + 7
  end
  redis.call('EXPIRE', evt, ttl)
end
return out
`;

// Status marks (stale-status suppression, src/domain/stale-status.ts): a hash per message, one
// field per destination, valued `<level>:<delivery id>`: the highest status level delivered there
// and the delivery that did it. A pending delivery whose rank is below the level is superseded by
// that delivery. Written only by deliveries that raise the level; kept for the retention
// (DELIVERY_LOG_TTL_DAYS) after its last write, which is as long as a stale delivery can wait.

/**
 * Appends attempts and sets statuses. Each record, its attempts and its event are kept at least
 * `ttl` seconds from now (the retention plus the wait before its next attempt): an event is
 * never gone before the last delivery that needs it. A succeeded status delivery raises its
 * message's mark.
 * KEYS: per record `rec`, `att`, `evt`, `mark` (`rec` when none). ARGV: per record JSON, status,
 * updatedAt, nextAttemptAt, ttl, mark field ('' = none), mark value (`<level>:<delivery id>`).
 */
const RECORD_ATTEMPTS = `
for i = 1, #KEYS, 4 do
  local a = 1 + (i - 1) / 4 * 7
  local ttl = tonumber(ARGV[a + 4])
  redis.call('RPUSH', KEYS[i + 1], ARGV[a])
  redis.call('HSET', KEYS[i], 'status', ARGV[a + 1], 'updatedAt', ARGV[a + 2], 'nextAttemptAt', ARGV[a + 3])
  redis.call('EXPIRE', KEYS[i], ttl)
  redis.call('EXPIRE', KEYS[i + 1], ttl)
  if redis.call('TTL', KEYS[i + 2]) < ttl then redis.call('EXPIRE', KEYS[i + 2], ttl) end
  local field, value = ARGV[a + 5], ARGV[a + 6]
  if field ~= '' then
    local cur = redis.call('HGET', KEYS[i + 3], field)
    if not cur or tonumber(string.sub(cur, 1, 1)) < tonumber(string.sub(value, 1, 1)) then
      redis.call('HSET', KEYS[i + 3], field, value)
      redis.call('EXPIRE', KEYS[i + 3], ttl)
    end
  end
end
return #KEYS / 4
`;

/**
 * Before a queued attempt: ends a pending or retrying record `superseded` when its message's mark
 * says a later status was delivered to its destination (a record in another state — a job run
 * again after its attempt succeeded, a failed one retried from the board — is left as it is).
 * Returns the superseding delivery's id, or nil.
 * KEYS: rec, mark. ARGV: mark field, stale rank, updatedAt.
 */
const SUPERSEDE_IF_STALE = `
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'pending' and status ~= 'retrying' then return false end
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if not cur or tonumber(string.sub(cur, 1, 1)) <= tonumber(ARGV[2]) then return false end
local by = string.sub(cur, 3)
redis.call('HSET', KEYS[1], 'status', 'superseded', 'supersededBy', by, 'updatedAt', ARGV[3], 'nextAttemptAt', '')
return by
`;

/** Keeps existing keys at least ARGV[1] seconds (never shortens). KEYS: any. */
const KEEP_ALIVE = `
local ttl = tonumber(ARGV[1])
for _, k in ipairs(KEYS) do
  local left = redis.call('TTL', k)
  if left ~= -2 and left < ttl then redis.call('EXPIRE', k, ttl) end
end
return 1
`;

/** Sets a record's status if the record still exists (an expired one is not brought back). */
const SET_STATUS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updatedAt', ARGV[2], 'nextAttemptAt', ARGV[3])
return 1
`;

/**
 * The JSON of each event: of the first of its ARGV[1] keys that holds it (nil when none does; a
 * pre-0.2 string read as is). KEYS: ARGV[1] places per event, in the order to try them.
 */
const GET_EVENTS = `
local per, out = tonumber(ARGV[1]), {}
for i = 1, #KEYS / per do
  out[i] = false
  for j = (i - 1) * per + 1, i * per do
    local t = redis.call('TYPE', KEYS[j]).ok
    if t == 'hash' then out[i] = redis.call('HGET', KEYS[j], 'e') elseif t == 'string' then out[i] = redis.call('GET', KEYS[j]) end
    if out[i] then break end
  end
end
return out
`;

/**
 * An event's delivery ids: its hash's fields but `e`, and those of the copy stored before 0.4
 * under its id alone (a hash, or a pre-0.2 string and set) if that one is the same tenant's.
 * KEYS: evt, legacy evt, legacy pre-0.2 set. ARGV: tenant.
 */
const EVENT_DELIVERIES = `
local out = {}
local function add(ids) for _, f in ipairs(ids) do if f ~= 'e' then out[#out + 1] = f end end end
add(redis.call('HKEYS', KEYS[1]))
local t = redis.call('TYPE', KEYS[2]).ok
if t == 'hash' or t == 'string' then
  local json = t == 'hash' and redis.call('HGET', KEYS[2], 'e') or redis.call('GET', KEYS[2])
  local ok, e = pcall(cjson.decode, json)
  if ok and type(e) == 'table' and e.tenantId == ARGV[1] then
    add(t == 'hash' and redis.call('HKEYS', KEYS[2]) or redis.call('SMEMBERS', KEYS[3]))
  end
end
return out
`;

interface StoreCommands {
  hlRecordAttempts(numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  hlGetEvents(numKeys: number, ...args: (string | number)[]): Promise<(string | null)[]>;
  hlEventDeliveries(numKeys: number, ...args: string[]): Promise<string[]>;
  hlSetStatus(numKeys: number, ...args: (string | number)[]): Promise<number>;
  hlSupersedeIfStale(numKeys: number, ...args: (string | number)[]): Promise<string | null>;
}

/** Deliveries per fan-out command: bounds its arguments and how long it holds Redis. */
export const PENDING_CHUNK = 1_000;

interface AddPendingPipeline {
  hlAddPending(numKeys: number, ...args: (string | number)[]): ChainableCommander;
}

interface KeepAlivePipeline {
  hlKeepAlive(numKeys: number, ...args: (string | number)[]): ChainableCommander;
}

/** One event and the deliveries a fan-out (or a re-drive) creates for it. */
export interface PendingBatchItem {
  event: HooklineEvent;
  deliveries: NewDelivery[];
}

/** Statuses after a fan-out's writes, in delivery order; `fresh` tells the records it created. */
export interface PendingStatuses {
  (replies: unknown[]): DeliveryStatus[];
  fresh(replies: unknown[]): boolean[];
  /** How many records this write created already `superseded`. */
  dropped(replies: unknown[]): number;
}

/** A succeeded status delivery's mark on its message (see MARK). */
export interface StatusMark {
  tenantId: string;
  messageId: string;
  field: string;
  level: number;
}

interface AttemptWrite {
  id: string;
  event: EventRef;
  attempt: Attempt;
  status: DeliveryStatus;
  nextAttemptAt: number | null;
  mark?: StatusMark;
}

export function createDeliveryStore(redis: Redis, keys: Keys, ttlSeconds: number) {
  const eventKey = (ref: EventRef) =>
    ref.tenantId === undefined ? keys.legacyEvent(ref.id) : keys.event(ref.tenantId, ref.id);
  redis.defineCommand('hlAddPending', { lua: ADD_PENDING });
  redis.defineCommand('hlRecordAttempts', { lua: RECORD_ATTEMPTS });
  redis.defineCommand('hlGetEvents', { lua: GET_EVENTS });
  redis.defineCommand('hlEventDeliveries', { lua: EVENT_DELIVERIES });
  redis.defineCommand('hlKeepAlive', { lua: KEEP_ALIVE });
  redis.defineCommand('hlSetStatus', { lua: SET_STATUS });
  redis.defineCommand('hlSupersedeIfStale', { lua: SUPERSEDE_IF_STALE });
  const commands = redis as unknown as StoreCommands;

  // Attempts finishing in the same event-loop turn are written by one command.
  const writeAttempt = tickBatcher<AttemptWrite, unknown>(async (batch) => {
    const keyArgs: string[] = [];
    const args: (string | number)[] = [];
    const now = Date.now();
    const updatedAt = new Date(now).toISOString();
    for (const w of batch) {
      const m = w.mark;
      keyArgs.push(
        keys.delivery(w.id),
        keys.deliveryAttempts(w.id),
        eventKey(w.event),
        m ? keys.messageStatus(m.tenantId, m.messageId) : keys.delivery(w.id),
      );
      const wait = w.nextAttemptAt ? Math.max(0, Math.ceil((w.nextAttemptAt - now) / 1000)) : 0;
      args.push(
        JSON.stringify(w.attempt),
        w.status,
        updatedAt,
        w.nextAttemptAt ? new Date(w.nextAttemptAt).toISOString() : '',
        ttlSeconds + wait,
        m ? m.field : '',
        m ? `${m.level}:${w.id}` : '',
      );
    }
    await commands.hlRecordAttempts(keyArgs.length, ...keyArgs, ...args);
    return batch;
  });

  /** One hlAddPending command for a chunk of the fan-out. */
  function addPendingCommand(pipe: ChainableCommander, batch: PendingBatchItem[], now: number) {
    const keyArgs: string[] = [];
    // Index entries older than the records they point to are trimmed, so an index never
    // outgrows the retention window however long the subscription lives.
    const args: (string | number)[] = [
      ttlSeconds,
      new Date(now).toISOString(),
      now,
      now - ttlSeconds * 1000,
      batch.length,
    ];
    for (const { event, deliveries } of batch) {
      const rank = event.messageId ? (staleRank(event.type) ?? 0) : 0;
      const evt = keys.event(event.tenantId, event.id);
      keyArgs.push(evt, rank > 0 ? keys.messageStatus(event.tenantId, event.messageId!) : evt);
      args.push(event.id, JSON.stringify(event), deliveries.length, rank);
      for (const d of deliveries) {
        keyArgs.push(keys.delivery(d.id), keys.subDeliveries(d.subscriptionId));
        args.push(
          d.id,
          d.subscriptionId,
          d.tenantId,
          d.target ?? 'subscription',
          d.series ?? 0,
          d.retryOf ?? '',
          d.markField ?? '',
        );
      }
    }
    (pipe as unknown as AddPendingPipeline).hlAddPending(keyArgs.length, ...keyArgs, ...args);
  }

  /** Each event's JSON from the first of its `per` keys that holds it. */
  const getEventsJson = (eventKeys: string[], per: 1 | 2) =>
    eventKeys.length === 0 ? Promise.resolve([]) : commands.hlGetEvents(eventKeys.length, ...eventKeys, per);

  const parseStored = (raw: string | null | undefined) =>
    raw ? (JSON.parse(raw) as HooklineEvent) : undefined;

  // Deliveries of one event often run together (a fan-out to many subscriptions): each event
  // asked for in a turn is read and parsed once.
  const loadEvent = tickBatcher<EventRef, HooklineEvent | undefined>(async (refs) => {
    const wanted = refs.map(eventKey);
    const distinct = [...new Set(wanted)];
    const raws = await getEventsJson(distinct, 1);
    const byKey = new Map<string, HooklineEvent | undefined>();
    distinct.forEach((key, i) => byKey.set(key, parseStored(raws[i])));
    return wanted.map((key) => byKey.get(key));
  });

  const store = {
    ttlSeconds,
    /**
     * Adds commands to a pipeline that store each event and a pending record per delivery (an
     * existing record, from a re-run fan-out, keeps its status), at most PENDING_CHUNK
     * deliveries a command. Returns a reader of the deliveries' statuses after the write, in
     * order, from the pipeline's replies.
     */
    addPending(pipe: ChainableCommander, batch: PendingBatchItem[], now: number): PendingStatuses {
      const at: number[] = [];
      let chunk: PendingBatchItem[] = [];
      let size = 0;
      const flush = () => {
        addPendingCommand(pipe, chunk, now);
        at.push(pipe.length - 1);
        chunk = [];
        size = 0;
      };
      for (const { event, deliveries } of batch) {
        let from = 0;
        do {
          const take = Math.min(deliveries.length - from, PENDING_CHUNK - size);
          chunk.push({ event, deliveries: deliveries.slice(from, from + take) });
          from += take;
          size += take;
          if (size >= PENDING_CHUNK) flush();
        } while (from < deliveries.length);
      }
      if (chunk.length > 0) flush();
      const raw = (replies: unknown[]) => at.flatMap((i) => replies[i] as string[]);
      const read = (replies: unknown[]) =>
        raw(replies).map(
          (s) => (s === 'new' ? 'pending' : s === 'dropped' ? 'superseded' : s) as DeliveryStatus,
        );
      return Object.assign(read, {
        fresh: (replies: unknown[]) => raw(replies).map((s) => s === 'new'),
        dropped: (replies: unknown[]) => raw(replies).filter((s) => s === 'dropped').length,
      });
    },

    /**
     * Appends an attempt and sets the new status (batched with the attempts of the same turn);
     * `mark` raises the message's status mark (a succeeded status delivery).
     */
    async recordAttempt(
      id: string,
      event: EventRef,
      attempt: Attempt,
      status: DeliveryStatus,
      nextAttemptAt: number | null,
      mark?: StatusMark,
    ): Promise<void> {
      await writeAttempt({ id, event, attempt, status, nextAttemptAt, mark });
    },

    /**
     * Ends a delivery `superseded` when its message's mark says a later status was delivered to
     * its destination (`field`); answers the superseding delivery's id, or undefined to go ahead.
     */
    async supersedeIfStale(
      id: string,
      event: Pick<HooklineEvent, 'tenantId' | 'messageId'>,
      field: string,
      rank: number,
    ): Promise<string | undefined> {
      const by = await commands.hlSupersedeIfStale(
        2,
        keys.delivery(id),
        keys.messageStatus(event.tenantId, event.messageId!),
        field,
        rank,
        new Date().toISOString(),
      );
      return by ?? undefined;
    },

    /** Keeps a waiting delivery's record and event at least the retention plus `waitMs`. */
    async keepAlive(id: string, event: EventRef, waitMs: number): Promise<void> {
      await execAll(store.keepAliveIn(redis.pipeline(), id, event, waitMs));
    },

    /** keepAlive as one more command of a pipeline (the caller runs it). */
    keepAliveIn(pipe: ChainableCommander, id: string, event: EventRef, waitMs: number): ChainableCommander {
      return (pipe as unknown as KeepAlivePipeline).hlKeepAlive(
        3,
        keys.delivery(id),
        keys.deliveryAttempts(id),
        eventKey(event),
        ttlSeconds + Math.ceil(waitMs / 1000),
      );
    },

    /** The event a job names (kept as long as its delivery records), for the worker: batched per turn. */
    loadEvent,

    /** A tenant's event by id: its own, never another tenant's of the same id. */
    async getEvent(tenantId: string, id: string): Promise<HooklineEvent | undefined> {
      return (await store.getEvents([{ tenantId, id }]))[0];
    },

    /** Events by tenant and id (an event stored before 0.4 under its id alone too, if the tenant's). */
    async getEvents(refs: { tenantId: string; id: string }[]): Promise<(HooklineEvent | undefined)[]> {
      const raws = await getEventsJson(
        refs.flatMap((r) => [keys.event(r.tenantId, r.id), keys.legacyEvent(r.id)]),
        2,
      );
      return raws.map((raw, i) => {
        const event = parseStored(raw);
        return event?.tenantId === refs[i]!.tenantId ? event : undefined;
      });
    },

    /** Sets the status of an existing record (one that expired stays gone). */
    async setStatus(id: string, status: DeliveryStatus, nextAttemptAt: number | null = null): Promise<void> {
      await commands.hlSetStatus(
        1,
        keys.delivery(id),
        status,
        new Date().toISOString(),
        nextAttemptAt ? new Date(nextAttemptAt).toISOString() : '',
      );
    },

    /** A delivery's status (undefined once gone) and how many attempts it has recorded. */
    async progress(id: string): Promise<{ status: DeliveryStatus | undefined; attempts: number }> {
      const [status, attempts] = await execAll(
        redis.pipeline().hget(keys.delivery(id), 'status').llen(keys.deliveryAttempts(id)),
      );
      return { status: (status as DeliveryStatus | null) ?? undefined, attempts: attempts as number };
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
      return h && h.eventId ? toRecord(id, h, atts) : undefined;
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
        if (h && h.eventId)
          out.push(toRecord(ids[i / step]!, h, withAttempts ? (res[i + 1]![1] as string[]) : []));
      }
      return out;
    },

    /** The ids of every delivery of a tenant's event (the stored event's other fields). */
    async idsForEvent(tenantId: string, eventId: string): Promise<string[]> {
      return commands.hlEventDeliveries(
        3,
        keys.event(tenantId, eventId),
        keys.legacyEvent(eventId),
        keys.legacyEventDeliveries(eventId),
        tenantId,
      );
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

function toRecord(id: string, h: Record<string, string>, atts: string[]): DeliveryRecord {
  return {
    id,
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
    ...(h.supersededBy ? { supersededBy: h.supersededBy } : {}),
  };
}
