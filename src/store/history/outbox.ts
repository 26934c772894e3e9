// The bounded Redis buffer in front of the PostgreSQL history: a stream that producers append
// ended deliveries and accepted events to (in the same Redis command batch as their own state,
// so a SIGKILL cannot lose one), and that history writers in any process drain in batches
// through a consumer group. An entry leaves the stream only after PostgreSQL has it; a writer
// that dies holding entries has them taken over by another after `claimIdleMs`.
import type { ChainableCommander, Redis } from 'ioredis';
import type { HooklineEvent } from '../../domain/event.js';
import { luaScript } from '../../redis/scripts.js';
import { execAll, fromPairs } from '../../redis/exec-all.js';
import type { HistoryDelivery } from './history-store.js';
import type { MoveRef } from './mover.js';

/**
 * A whole record (`e`, `d`), or a reference to one still in Redis that has ended (`x`: a delivery
 * id; `v`: an event without deliveries, `<tenant>|<id>`), resolved by the writer (mover.ts).
 */
export type OutboxItem = { event: HooklineEvent } | { delivery: HistoryDelivery } | { moved: MoveRef };

export interface OutboxEntry {
  /** Stream entry id. */
  id: string;
  /** undefined when the entry cannot be read (deleted meanwhile, or not an outbox entry). */
  item: OutboxItem | undefined;
  /** The raw field and value, kept for the dead-letter stream. */
  raw: string[];
}

export interface HistoryOutboxOptions {
  /** Entries at most; a push that would go past it is refused whole. */
  maxEntries: number;
  /** Consumer group of the history writers. Default `history`. */
  group?: string;
}

/** Appends the entries unless the stream would exceed its bound; the new length or -1. */
const PUSH = luaScript<[stream: string], [maxEntries: number, ...fieldsAndValues: string[]], number>(
  'history-push',
);

type StreamEntries = [id: string, fields: string[] | null][];

function encode(items: OutboxItem[]): string[] {
  return items.flatMap((it) => {
    if ('event' in it) return ['e', JSON.stringify(it.event)];
    if ('delivery' in it) return ['d', JSON.stringify(it.delivery)];
    const m = it.moved;
    return 'delivery' in m ? ['x', m.delivery] : ['v', `${m.event.tenantId}|${m.event.id}`];
  });
}

function decode([id, fields]: [string, string[] | null]): OutboxEntry {
  const raw = fields ?? [];
  const [field, value] = raw;
  let item: OutboxItem | undefined;
  try {
    if (field === 'e' && value) item = { event: JSON.parse(value) as HooklineEvent };
    if (field === 'd' && value) item = { delivery: JSON.parse(value) as HistoryDelivery };
    if (field === 'x' && value) item = { moved: { delivery: value } };
    const bar = value?.indexOf('|') ?? -1;
    if (field === 'v' && value && bar > 0)
      item = { moved: { event: { tenantId: value.slice(0, bar), id: value.slice(bar + 1) } } };
  } catch {
    item = undefined;
  }
  return { id, item, raw };
}

export function createHistoryOutbox(redis: Redis, key: string, opts: HistoryOutboxOptions) {
  PUSH.define(redis); // before any pipeline of this connection queues it
  const group = opts.group ?? 'history';
  const deadKey = `${key}:dead`;
  let groupReady = false;

  async function ensureGroup() {
    try {
      await redis.xgroup('CREATE', key, group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
    }
    groupReady = true;
  }

  /** Runs a group command, creating the group first (or again, if the stream was deleted). */
  async function withGroup<T>(run: () => Promise<T>): Promise<T> {
    if (!groupReady) await ensureGroup();
    try {
      return await run();
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOGROUP')) throw err;
      await ensureGroup();
      return run();
    }
  }

  const outbox = {
    key,
    deadKey,
    maxEntries: opts.maxEntries,

    /** Appends items; false (nothing appended) when the buffer is full. */
    async push(items: OutboxItem[]): Promise<boolean> {
      if (items.length === 0) return true;
      return (await PUSH.run(redis, [key], [opts.maxEntries, ...encode(items)])) >= 0;
    },

    /**
     * The push as one more command of the caller's pipeline or MULTI; its reply is the new length,
     * or -1 when the buffer was full and nothing was appended.
     */
    pushIn(pipe: ChainableCommander, items: OutboxItem[]): ChainableCommander {
      return PUSH.queue(pipe, [key], [opts.maxEntries, ...encode(items)]);
    },

    /** Entries waiting (not yet written to PostgreSQL, or written and not yet removed). */
    async length(): Promise<number> {
      return redis.xlen(key);
    },

    /**
     * Up to `count` entries for `consumer`: new ones, or with `own`, the ones it read before and
     * has not acknowledged (after a failed write).
     */
    async read(consumer: string, count: number, own = false): Promise<OutboxEntry[]> {
      const reply = (await withGroup(() =>
        redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', key, own ? '0' : '>'),
      )) as [string, StreamEntries][] | null;
      return (reply?.[0]?.[1] ?? []).map(decode);
    },

    /** Entries another consumer read and left unacknowledged for `minIdleMs`, now `consumer`'s. */
    async claimStale(consumer: string, count: number, minIdleMs: number): Promise<OutboxEntry[]> {
      const reply = (await withGroup(() =>
        redis.xautoclaim(key, group, consumer, minIdleMs, '0-0', 'COUNT', count),
      )) as [string, StreamEntries, string[]?];
      return reply[1].map(decode);
    },

    /** Removes written entries. */
    async ack(ids: string[]): Promise<void> {
      if (ids.length === 0) return;
      await execAll(
        redis
          .multi()
          .xack(key, group, ...ids)
          .xdel(key, ...ids),
      );
    },

    /** Moves entries PostgreSQL refuses to `<key>:dead` with the reason, for an operator to look at. */
    async deadLetter(entries: OutboxEntry[], reason: string): Promise<void> {
      if (entries.length === 0) return;
      const tx = redis.multi();
      for (const e of entries) tx.xadd(deadKey, '*', ...e.raw, 'reason', reason, 'entry', e.id);
      const ids = entries.map((e) => e.id);
      await execAll(tx.xack(key, group, ...ids).xdel(key, ...ids));
    },

    /** Forgets consumers gone for `idleMs` that hold nothing (one per process that ever ran). */
    async pruneConsumers(self: string, idleMs: number): Promise<void> {
      const info = (await withGroup(() => redis.xinfo('CONSUMERS', key, group))) as unknown[][];
      for (const fields of info) {
        const c = fromPairs(fields);
        if (c.name !== self && Number(c.pending) === 0 && Number(c.idle) > idleMs)
          await redis.xgroup('DELCONSUMER', key, group, String(c.name));
      }
    },
  };
  return outbox;
}

export type HistoryOutbox = ReturnType<typeof createHistoryOutbox>;
