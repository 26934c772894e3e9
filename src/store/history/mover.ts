// With PostgreSQL as the history (DATABASE_URL), ended deliveries move out of Redis. The store's
// scripts append a small entry to the outbox stream in the same command that ends a delivery
// (`x` with the delivery id) or stores an event no delivery needs (`v` with the event's key);
// the history writer resolves entries into whole records from Redis here, writes them to
// PostgreSQL, and only then drops their Redis copies. At every moment a record is readable in
// Redis or in PostgreSQL, and a SIGKILL anywhere leaves the entry in the stream to be done again.
import type { Redis } from 'ioredis';
import { FINAL_STATUSES } from '../../domain/delivery-record.js';
import type { HooklineEvent } from '../../domain/event.js';
import type { Keys } from '../../redis/client.js';
import { luaScript } from '../../redis/scripts.js';
import { execAll, type DeliveryRecord, type DeliveryStore } from '../delivery-store.js';
import type { HistoryBatch, HistoryDelivery } from './history-store.js';

/** An outbox entry naming what moved: an ended delivery, or an event without deliveries. */
export type MoveRef = { delivery: string } | { event: { tenantId: string; id: string } };

/** Outbox fields of a move entry. */
export const MOVE_FIELDS = { delivery: 'x', event: 'v' } as const;

const DROP_DELIVERY = luaScript<
  [rec: string, att: string, idx: string, evt: string, history: string],
  [id: string, redrivenTo: string, ...finalStatuses: string[]],
  number
>('history-drop-delivery');
const DROP_EVENT = luaScript<[evt: string], [], number>('history-drop-event');

export interface MovedBatch {
  batch: HistoryBatch;
  /** What to drop from Redis once the batch is in PostgreSQL. */
  deliveries: DeliveryRecord[];
  events: { tenantId: string; id: string }[];
}

export function createHistoryMover(redis: Redis, keys: Keys, store: DeliveryStore) {
  DROP_DELIVERY.define(redis);
  DROP_EVENT.define(redis);
  const finals = [...FINAL_STATUSES];

  return {
    /**
     * The records the entries name, read from Redis: each ended delivery with its event (events
     * are immutable; writing one twice changes nothing). An entry whose record is gone was moved
     * already (by another writer) and yields nothing.
     */
    async resolve(refs: MoveRef[]): Promise<MovedBatch> {
      const ids = refs.flatMap((r) => ('delivery' in r ? [r.delivery] : []));
      const eventRefs = refs.flatMap((r) => ('event' in r ? [r.event] : []));
      const records = (await store.getMany(ids)).filter((r) => FINAL_STATUSES.has(r.status));
      const wanted = new Map<string, { tenantId: string; id: string }>();
      for (const r of records)
        wanted.set(`${r.tenantId}|${r.eventId}`, { tenantId: r.tenantId, id: r.eventId });
      for (const e of eventRefs) wanted.set(`${e.tenantId}|${e.id}`, e);
      const refsList = [...wanted.values()];
      const events = await store.getEvents(refsList);
      const byKey = new Map<string, HooklineEvent>();
      refsList.forEach((ref, i) => {
        const e = events[i];
        if (e) byKey.set(`${ref.tenantId}|${ref.id}`, e);
      });
      const deliveries: HistoryDelivery[] = [];
      const moved: DeliveryRecord[] = [];
      for (const r of records) {
        const event = byKey.get(`${r.tenantId}|${r.eventId}`);
        // A record outliving its event (it cannot: the event is kept as long as its last
        // delivery) is written with an unknown type rather than lost.
        deliveries.push({ ...r, eventType: event?.type ?? 'unknown' });
        moved.push(r);
      }
      return {
        batch: { events: [...byKey.values()], deliveries },
        deliveries: moved,
        events: eventRefs.filter((e) => byKey.has(`${e.tenantId}|${e.id}`)),
      };
    },

    /** Drops the Redis copies of what is now in PostgreSQL. */
    async drop(moved: Pick<MovedBatch, 'deliveries' | 'events'>): Promise<void> {
      if (moved.deliveries.length === 0 && moved.events.length === 0) return;
      const pipe = redis.pipeline();
      for (const r of moved.deliveries)
        DROP_DELIVERY.queue(
          pipe,
          [
            keys.delivery(r.id),
            keys.deliveryAttempts(r.id),
            keys.subDeliveries(r.subscriptionId),
            keys.event(r.tenantId, r.eventId),
            keys.history(),
          ],
          [r.id, r.redrivenTo ?? '', ...finals],
        );
      for (const e of moved.events) DROP_EVENT.queue(pipe, [keys.event(e.tenantId, e.id)], []);
      await execAll(pipe);
    },
  };
}

export type HistoryMover = ReturnType<typeof createHistoryMover>;
