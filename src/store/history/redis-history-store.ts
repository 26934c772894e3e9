// The history kept in Redis (no DATABASE_URL) behind the HistoryStore interface: a read view of
// the delivery store, serving the filters its indexes can answer.
//
// Records get here through the pipeline (add-pending, record-attempts, set-status), never
// through `write`: it rejects. Its contract test (test/store/history/redis-history-store.test.ts)
// seeds records with those same delivery-store calls, so the layout read here is the real one.
//
// Where each list comes from:
// - deliveries: the per-subscription indexes (scored by creation ms, ../delivery-index.ts) of the
//   tenant's subscriptions (keys.tenantSubs: every one it ever had), merged by the delivery store's scan;
//   with eventId or messageId, the deliveries of the named events (an event's hash names them,
//   the message index names a message's events: ../status-marks.ts), filtered and paged here: a
//   message has few events.
//   As the API always did on Redis, a tenant-wide list without eventId/messageId walks the
//   tenant's subscriptions only: the deliveryReport and ops destinations have one index shared by
//   every tenant, not walked for one tenant (an event's list does show them).
// - events: only by messageId (the message index); Redis keeps no per-tenant event index.
// A filter it does not serve is refused (400 unsupported_filter), never ignored.
import type { Redis } from 'ioredis';
import type { DeliveryRecord } from '../../domain/delivery-record.js';
import type { HooklineEvent } from '../../domain/event.js';
import type { Keys } from '../../redis/client.js';
import type { DeliveryStore } from '../delivery-store.js';
import { MARK_REDRIVEN } from '../mark-redriven.js';
import { messageEventIds as indexedEventIds } from '../status-marks.js';
import {
  decodeCursor,
  encodeCursor,
  MAX_LIST_LIMIT,
  unsupportedFilter,
  type CursorPosition,
  type DeliveryFilter,
  type DeliveryQuery,
  type EventFilter,
  type HistoryStore,
  type Page,
} from './history-store.js';

/** What the Redis history serves; eventType (deliveries) and type, since, until (events) need PostgreSQL. */
export const REDIS_HISTORY_FILTERS: HistoryStore['filters'] = {
  deliveries: new Set<DeliveryFilter>(['subscriptionId', 'eventId', 'messageId', 'status', 'since', 'until']),
  events: new Set<EventFilter>(['messageId']),
};

const limitOf = (limit: number) => Math.min(Math.max(Math.trunc(limit), 1), MAX_LIST_LIMIT);
/** Newest first: creation time, then id, both descending (the order of every list). */
const newer = (a: CursorPosition, b: CursorPosition) => a.ms > b.ms || (a.ms === b.ms && a.id > b.id);

/** The items after `after`, newest first, as one page of `limit`. */
function pageOf<T>(
  items: T[],
  pos: (t: T) => CursorPosition,
  limit: number,
  after?: CursorPosition,
): Page<T> {
  const sorted = items
    .filter((t) => !after || newer(after, pos(t)))
    .sort((a, b) => (newer(pos(a), pos(b)) ? -1 : 1));
  const data = sorted.slice(0, limit);
  return { data, nextCursor: sorted.length > limit ? encodeCursor(pos(data.at(-1)!)) : null };
}

const deliveryPos = (r: DeliveryRecord): CursorPosition => ({ ms: Date.parse(r.createdAt), id: r.id });
const eventPos = (e: HooklineEvent): CursorPosition => ({ ms: e.acceptedAt, id: e.id });

export function createRedisHistoryStore(redis: Redis, keys: Keys, deliveries: DeliveryStore): HistoryStore {
  /** A tenant's events of a message (the message index). */
  const messageEventIds = (tenantId: string, messageId: string) =>
    indexedEventIds(redis, keys, deliveries.ttlSeconds, tenantId, messageId);

  /** eventId / messageId: every delivery of the named events, filtered and paged here. */
  async function byEvents(q: DeliveryQuery, after?: CursorPosition): Promise<Page<DeliveryRecord>> {
    let eventIds: string[];
    if (q.eventId !== undefined) {
      eventIds = [q.eventId];
      if (q.messageId !== undefined) {
        const event = await deliveries.getEvent(q.tenantId, q.eventId);
        if (event?.messageId !== q.messageId) return { data: [], nextCursor: null };
      }
    } else eventIds = await messageEventIds(q.tenantId, q.messageId!);
    const ids = (await Promise.all(eventIds.map((id) => deliveries.idsForEvent(q.tenantId, id)))).flat();
    const records = (await deliveries.getMany(ids, q.withAttempts ?? true)).filter((r) => {
      const ms = Date.parse(r.createdAt);
      return (
        r.tenantId === q.tenantId &&
        (q.subscriptionId === undefined || r.subscriptionId === q.subscriptionId) &&
        (q.status === undefined || r.status === q.status) &&
        (q.since === undefined || ms >= q.since) &&
        (q.until === undefined || ms <= q.until)
      );
    });
    return pageOf(records, deliveryPos, limitOf(q.limit), after);
  }

  return {
    filters: REDIS_HISTORY_FILTERS,

    write() {
      return Promise.reject(
        new Error('the Redis history is written by the pipeline (delivery store), not through write'),
      );
    },

    async getDelivery(id, tenantId) {
      const record = await deliveries.get(id);
      return record && (tenantId === undefined || record.tenantId === tenantId) ? record : undefined;
    },

    async listDeliveries(q) {
      const after = q.cursor ? decodeCursor(q.cursor) : undefined;
      if (q.eventType !== undefined) throw unsupportedFilter('eventType', '/querystring/eventType');
      if (q.eventId !== undefined || q.messageId !== undefined) return byEvents(q, after);
      const subIds =
        q.subscriptionId !== undefined
          ? [q.subscriptionId]
          : await redis.zrange(keys.tenantSubs(q.tenantId), '0', '-1');
      if (subIds.length === 0) return { data: [], nextCursor: null };
      // The scan's cursor is this format already (index score = creation ms, then id). A page may
      // come back short with a cursor: the scan bounds the entries it examines per call.
      const page = await deliveries.scan(
        subIds.map((id) => keys.subDeliveries(id)),
        {
          status: q.status,
          since: q.since,
          until: q.until,
          limit: limitOf(q.limit),
          cursor: q.cursor,
          withAttempts: q.withAttempts,
        },
      );
      // A subscription id names one tenant's index; the check keeps a list tenant-scoped anyway.
      return { data: page.data.filter((r) => r.tenantId === q.tenantId), nextCursor: page.nextCursor };
    },

    async getEvent(tenantId, eventId) {
      const [event, ids] = await Promise.all([
        deliveries.getEvent(tenantId, eventId),
        deliveries.idsForEvent(tenantId, eventId),
      ]);
      if (!event) return undefined;
      const records = (await deliveries.getMany(ids)).filter((r) => r.tenantId === tenantId);
      return { event, deliveries: records.sort((a, b) => (newer(deliveryPos(a), deliveryPos(b)) ? 1 : -1)) };
    },

    async listEvents(q) {
      const after = q.cursor ? decodeCursor(q.cursor) : undefined;
      for (const name of ['type', 'since', 'until'] as const)
        if (q[name] !== undefined) throw unsupportedFilter(name, `/querystring/${name}`);
      if (q.messageId === undefined)
        throw unsupportedFilter('a listing without messageId', '/querystring/messageId');
      const ids = await messageEventIds(q.tenantId, q.messageId);
      const events = (await deliveries.getEvents(ids.map((id) => ({ tenantId: q.tenantId, id })))).filter(
        (e): e is HooklineEvent => !!e,
      );
      return pageOf(events, eventPos, limitOf(q.limit), after);
    },

    async markRedriven(id, successorId) {
      return (await MARK_REDRIVEN.run(redis, [keys.delivery(id)], [successorId])) === 1;
    },
  };
}
