// What this process just wrote to Redis and the history writer is about to move (with the
// PostgreSQL history): the events its fan-outs stored and the records its attempts ended, as the
// same commands left them in Redis. The mover takes them from here instead of reading them back,
// which cost more than a third of the move (reading, parsing and decoding each record and event).
//
// Only a shortcut, never the truth: an entry another process's writer takes over, or one evicted
// here, is read from Redis as before, and the mover's drop still checks each record's state in
// Redis (a record re-driven meanwhile is named in the outbox again, and read back then).
// Bounded by count, by bytes and by age: a writer that falls behind (PostgreSQL down, or another
// process's writer taking the entries) costs at most the bound, and an entry larger than
// MAX_ENTRY_BYTES is not kept at all (it is read back, as before).
import type { HooklineEvent } from '../../domain/event.js';

export interface RecentHistoryOptions {
  /** Entries of each kind at most (oldest dropped first). Default 25,000. */
  maxEntries?: number;
  /** Bytes of each kind at most (as stored in Redis; oldest dropped first). Default 16 MB. */
  maxBytes?: number;
  /** An entry larger than this is not kept. Default 64 KB. */
  maxEntryBytes?: number;
  /** Entries older than this are dropped. Default 30 s (the writer looks every 200 ms). */
  maxAgeMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

/** A record hash as Redis holds it (delivery-layout.ts REC), as the command that ended it read it. */
export type RecordFields = Record<string, string>;

interface Aged<T> {
  at: number;
  seq: number;
  bytes: number;
  value: T;
}

/**
 * A map with its keys also in a queue in the order they were put, so the oldest are dropped
 * without walking the map (a Map iterated from its front walks the holes its deletes left).
 */
function bounded<T>(o: { max: number; maxBytes: number; maxAgeMs: number; now: () => number }) {
  const map = new Map<string, Aged<T>>();
  let queue: { key: string; seq: number; at: number }[] = [];
  let head = 0;
  let seq = 0;
  let bytes = 0;
  const remove = (key: string) => {
    const e = map.get(key);
    if (!e) return;
    bytes -= e.bytes;
    map.delete(key);
  };
  const evict = (t: number) => {
    while (head < queue.length) {
      const q = queue[head]!;
      // An entry taken (or put again) since is not this one: its place is only skipped.
      const live = map.get(q.key)?.seq === q.seq;
      if (live && map.size <= o.max && bytes <= o.maxBytes && t - q.at <= o.maxAgeMs) break;
      head++;
      if (live) remove(q.key);
    }
    if (head > 1_024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  };
  return {
    map,
    bytes: () => bytes,
    queued: () => queue.length - head,
    remove,
    put(key: string, value: T, size: number) {
      const t = o.now();
      seq++;
      remove(key);
      map.set(key, { at: t, seq, bytes: size, value });
      bytes += size;
      queue.push({ key, seq, at: t });
      evict(t);
    },
    get(key: string): T | undefined {
      const e = map.get(key);
      if (!e) return undefined;
      if (o.now() - e.at > o.maxAgeMs) {
        remove(key);
        return undefined;
      }
      return e.value;
    },
  };
}

export function createRecentHistory(opts: RecentHistoryOptions = {}) {
  const bounds = {
    max: opts.maxEntries ?? 25_000,
    maxBytes: opts.maxBytes ?? 16 * 1024 * 1024,
    maxAgeMs: opts.maxAgeMs ?? 30_000,
    now: opts.now ?? Date.now,
  };
  const maxEntryBytes = opts.maxEntryBytes ?? 64 * 1024;
  const events = bounded<{ event: HooklineEvent; uses: number; written: boolean }>(bounds);
  const records = bounded<RecordFields>(bounds);
  let hits = 0;
  let misses = 0;
  const eventKey = (tenantId: string, id: string) => `${tenantId}|${id}`;

  return {
    /**
     * An event a fan-out of this process stored (`bytes`: its stored JSON's length) with
     * `deliveries` of its deliveries, for as many outbox entries and its own (`v`); it goes when
     * they have all been resolved (or when evicted). A fan-out written in several commands puts
     * it once per command: the deliveries add up.
     */
    putEvent(event: HooklineEvent, deliveries: number, bytes: number): void {
      const key = eventKey(event.tenantId, event.id);
      const seen = events.get(key);
      if (seen) seen.uses += deliveries;
      else if (bytes <= maxEntryBytes)
        events.put(key, { event, uses: deliveries + 1, written: false }, bytes);
    },
    /**
     * The event for `uses` of its entries (1 unless told), and whether a write of this process
     * has put it in PostgreSQL already (its own entry's, usually).
     */
    takeEvent(
      tenantId: string,
      id: string,
      uses = 1,
    ): { event: HooklineEvent; written: boolean } | undefined {
      const key = eventKey(tenantId, id);
      const e = events.get(key);
      if (!e) return undefined;
      e.uses -= uses;
      if (e.uses <= 0) events.remove(key);
      return e;
    },
    /** The event is in PostgreSQL (a write that held it succeeded). */
    eventWritten(tenantId: string, id: string): void {
      const e = events.get(eventKey(tenantId, id));
      if (e) e.written = true;
    },
    /** A record an attempt of this process ended, its hash as the ending command left it. */
    putRecord(id: string, fields: RecordFields): void {
      let bytes = 0;
      for (const k in fields) bytes += k.length + fields[k]!.length;
      if (bytes <= maxEntryBytes) records.put(id, fields, bytes);
    },
    /** The record's hash, once: a record named in the outbox again is read from Redis. */
    takeRecord(id: string): RecordFields | undefined {
      const r = records.get(id);
      if (r) {
        records.remove(id);
        hits++;
      } else misses++;
      return r;
    },
    /** Records taken from here and records that had to be read from Redis (tests, metrics). */
    stats: () => ({
      hits,
      misses,
      events: events.map.size,
      records: records.map.size,
      bytes: events.bytes() + records.bytes(),
    }),
    /** Places held in the eviction queues (tests: taken entries must not pile up there). */
    queued: () => events.queued() + records.queued(),
  };
}

export type RecentHistory = ReturnType<typeof createRecentHistory>;
