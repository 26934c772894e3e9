// The API reads one truth: a delivery still under way is in Redis, an ended one (with
// DATABASE_URL) in PostgreSQL, and for a moment both (moved, not yet dropped): Redis wins then.
// Without a history store everything is in Redis, as before 0.4. Records written by 0.3 stay
// in Redis until they expire and are read from there: switching an installation to PostgreSQL
// keeps its history readable without an import.
import type { DeliveryRecord } from '../../domain/delivery-record.js';
import type { HooklineEvent } from '../../domain/event.js';
import type { DeliveryStore } from '../delivery-store.js';
import {
  decodeCursor,
  encodeCursor,
  type CursorPosition,
  type DeliveryQuery,
  type EventHistory,
  type HistoryStore,
  type Page,
} from './history-store.js';

/** Newest first: creation time, then id, both descending (the order of every list). */
const newer = (a: CursorPosition, b: CursorPosition) => a.ms > b.ms || (a.ms === b.ms && a.id > b.id);
const positionOf = (r: DeliveryRecord): CursorPosition => ({ ms: Date.parse(r.createdAt), id: r.id });

/**
 * Merges pages of the same list from several sources, each newest first after the same cursor.
 * A source that stopped early (its nextCursor) is complete only down to that position: nothing
 * older than the newest such position is shown yet, and the merged cursor resumes there.
 */
export function mergePages(pages: Page<DeliveryRecord>[], limit: number): Page<DeliveryRecord> {
  let horizon: CursorPosition | undefined;
  for (const p of pages) {
    if (!p.nextCursor) continue;
    const at = decodeCursor(p.nextCursor);
    if (!horizon || newer(at, horizon)) horizon = at;
  }
  const seen = new Set<string>();
  const all: DeliveryRecord[] = [];
  // Earlier pages win a tie on id (the live store is passed first).
  for (const p of pages)
    for (const r of p.data) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      all.push(r);
    }
  const complete = all
    .filter((r) => !horizon || !newer(horizon, positionOf(r)))
    .sort((a, b) => (newer(positionOf(a), positionOf(b)) ? -1 : 1));
  if (complete.length > limit) {
    const data = complete.slice(0, limit);
    return { data, nextCursor: encodeCursor(positionOf(data.at(-1)!)) };
  }
  return { data: complete, nextCursor: horizon ? encodeCursor(horizon) : null };
}

export interface HistoryReaderDeps {
  live: DeliveryStore;
  /** The PostgreSQL history; absent: Redis holds everything. */
  history?: HistoryStore;
}

export function createHistoryReader({ live, history }: HistoryReaderDeps) {
  /** The records of a live page that match the query's event filters (one read of their events). */
  async function liveMatches(records: DeliveryRecord[], q: DeliveryQuery): Promise<DeliveryRecord[]> {
    const byEvent = q.eventId ? records.filter((r) => r.eventId === q.eventId) : records;
    if (!q.messageId && !q.eventType) return byEvent;
    const events = await live.getEvents(byEvent.map((r) => ({ tenantId: r.tenantId, id: r.eventId })));
    return byEvent.filter((_, i) => {
      const e = events[i];
      return !!e && (!q.messageId || e.messageId === q.messageId) && (!q.eventType || e.type === q.eventType);
    });
  }

  return {
    /** A delivery by id, wherever it is now. */
    async getDelivery(id: string): Promise<DeliveryRecord | undefined> {
      return (await live.get(id)) ?? (await history?.getDelivery(id));
    },

    /** Events by tenant and id, from Redis or else the history (in order; undefined if neither). */
    async getEvents(refs: { tenantId: string; id: string }[]): Promise<(HooklineEvent | undefined)[]> {
      const found = await live.getEvents(refs);
      if (!history) return found;
      return Promise.all(
        found.map(async (e, i) => e ?? (await history.getEvent(refs[i]!.tenantId, refs[i]!.id))?.event),
      );
    },

    /** A tenant's event and every delivery of it, oldest first, live state over stored state. */
    async getEvent(tenantId: string, eventId: string): Promise<EventHistory | undefined> {
      const [event, ids, stored] = await Promise.all([
        live.getEvent(tenantId, eventId),
        live.idsForEvent(tenantId, eventId),
        history?.getEvent(tenantId, eventId),
      ]);
      const ev = event ?? stored?.event;
      if (!ev) return undefined;
      const current = await live.getMany(ids);
      const byId = new Map<string, DeliveryRecord>();
      for (const r of stored?.deliveries ?? []) byId.set(r.id, r);
      for (const r of current) byId.set(r.id, r);
      const deliveries = [...byId.values()].sort(
        (a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.id < b.id ? -1 : 1),
      );
      return { event: ev, deliveries };
    },

    /**
     * A list of deliveries: the live records (Redis indexes of `indexKeys`) merged with the
     * history's page. The live page is filtered here by what Redis cannot filter: the event id,
     * and the fields of its event (messageId, eventType), read once for the page.
     */
    async listDeliveries(query: DeliveryQuery, indexKeys: string[]): Promise<Page<DeliveryRecord>> {
      const livePage = await live.scan(indexKeys, {
        status: query.status,
        since: query.since,
        until: query.until,
        limit: query.limit,
        cursor: query.cursor,
        withAttempts: query.withAttempts,
      });
      const pages: Page<DeliveryRecord>[] = [
        { data: await liveMatches(livePage.data, query), nextCursor: livePage.nextCursor },
      ];
      if (history) pages.push(await history.listDeliveries(query));
      return mergePages(pages, query.limit);
    },
  };
}

export type HistoryReader = ReturnType<typeof createHistoryReader>;
