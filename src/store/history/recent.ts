// What this process just wrote to Redis and the history writer is about to move (with the
// PostgreSQL history): the events its fan-outs stored and the records its attempts ended, as the
// same commands left them in Redis. The mover takes them from here instead of reading them back,
// which cost more than a third of the move (reading, parsing and decoding each record and event).
//
// Only a shortcut, never the truth: an entry another process's writer takes over, or one evicted
// here, is read from Redis as before, and the mover's drop still checks each record's state in
// Redis (a record re-driven meanwhile is named in the outbox again, and read back then).
// Bounded by count and by age, so a writer that falls behind (PostgreSQL down) costs no memory.
import type { HooklineEvent } from '../../domain/event.js';

export interface RecentHistoryOptions {
  /** Entries of each kind at most (oldest dropped first). Default 25,000 (about 25 MB at most). */
  maxEntries?: number;
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
  value: T;
}

/**
 * A map with its keys also in a queue in the order they were put, so the oldest are dropped
 * without walking the map (a Map iterated from its front walks the holes its deletes left).
 */
function bounded<T>(max: number, maxAgeMs: number, now: () => number) {
  const map = new Map<string, Aged<T>>();
  let queue: { key: string; seq: number; at: number }[] = [];
  let head = 0;
  let seq = 0;
  const evict = (t: number) => {
    while (head < queue.length) {
      const q = queue[head]!;
      // An entry taken (or put again) since is not this one: its place is only skipped.
      const live = map.get(q.key)?.seq === q.seq;
      if (live && map.size <= max && t - q.at <= maxAgeMs) break;
      head++;
      if (live) map.delete(q.key);
    }
    if (head > 1_024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  };
  return {
    map,
    queued: () => queue.length - head,
    put(key: string, value: T) {
      const t = now();
      seq++;
      map.set(key, { at: t, seq, value });
      queue.push({ key, seq, at: t });
      evict(t);
    },
    get(key: string): T | undefined {
      const e = map.get(key);
      if (!e) return undefined;
      if (now() - e.at > maxAgeMs) {
        map.delete(key);
        return undefined;
      }
      return e.value;
    },
  };
}

export function createRecentHistory(opts: RecentHistoryOptions = {}) {
  const max = opts.maxEntries ?? 25_000;
  const maxAgeMs = opts.maxAgeMs ?? 30_000;
  const now = opts.now ?? Date.now;
  const events = bounded<{ event: HooklineEvent; uses: number; written: boolean }>(max, maxAgeMs, now);
  const records = bounded<RecordFields>(max, maxAgeMs, now);
  let hits = 0;
  let misses = 0;
  const eventKey = (tenantId: string, id: string) => `${tenantId}|${id}`;

  return {
    /**
     * An event a fan-out of this process stored, for `uses` outbox entries: its own (`v`) and one
     * per delivery (`x`); it goes when they have all been resolved (or when evicted).
     */
    putEvent(event: HooklineEvent, uses: number): void {
      events.put(eventKey(event.tenantId, event.id), { event, uses, written: false });
    },
    /**
     * The event for `uses` of its entries (1 unless told), and whether a write of this process
     * has put it in PostgreSQL already (its own entry's, usually).
     */
    takeEvent(tenantId: string, id: string, uses = 1): { event: HooklineEvent; written: boolean } | undefined {
      const key = eventKey(tenantId, id);
      const e = events.get(key);
      if (!e) return undefined;
      e.uses -= uses;
      if (e.uses <= 0) events.map.delete(key);
      return e;
    },
    /** The event is in PostgreSQL (a write that held it succeeded). */
    eventWritten(tenantId: string, id: string): void {
      const e = events.get(eventKey(tenantId, id));
      if (e) e.written = true;
    },
    /** A record an attempt of this process ended, its hash as the ending command left it. */
    putRecord(id: string, fields: RecordFields): void {
      records.put(id, fields);
    },
    /** The record's hash, once: a record named in the outbox again is read from Redis. */
    takeRecord(id: string): RecordFields | undefined {
      const r = records.get(id);
      if (r) {
        records.map.delete(id);
        hits++;
      } else misses++;
      return r;
    },
    /** Records taken from here and records that had to be read from Redis (tests, metrics). */
    stats: () => ({ hits, misses, events: events.map.size, records: records.map.size }),
    /** Places held in the eviction queues (tests: taken entries must not pile up there). */
    queued: () => events.queued() + records.queued(),
  };
}

export type RecentHistory = ReturnType<typeof createRecentHistory>;
