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
import { execAll, type DeliveryRecord, type DeliveryStore } from '../delivery-store.js';
import type { HistoryBatch, HistoryDelivery } from './history-store.js';

/** An outbox entry naming what moved: an ended delivery, or an event without deliveries. */
export type MoveRef = { delivery: string } | { event: { tenantId: string; id: string } };

/** Outbox fields of a move entry. */
export const MOVE_FIELDS = { delivery: 'x', event: 'v' } as const;

/**
 * Drops a moved delivery's Redis copies, if it is still ended (a re-driven record gets its
 * `redrivenTo` and keeps its status; nothing else revives one), and its event's copy once no
 * delivery of the event is left in Redis.
 * KEYS: rec, att, idx (the subscription's index), evt. ARGV: id, then each final status.
 */
const DROP_DELIVERY = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
local final = false
for i = 2, #ARGV do if ARGV[i] == status then final = true end end
if not final then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
if redis.call('HLEN', KEYS[4]) <= 1 then redis.call('DEL', KEYS[4]) end
return 1
`;

/** Drops an event's copy when no delivery of it is left. KEYS: evt. */
const DROP_EVENT = `
if redis.call('HLEN', KEYS[1]) <= 1 then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface MoverCommands {
  hlDropMovedDelivery(numKeys: number, ...args: string[]): Promise<number>;
  hlDropMovedEvent(numKeys: number, ...args: string[]): Promise<number>;
}

export interface MovedBatch {
  batch: HistoryBatch;
  /** What to drop from Redis once the batch is in PostgreSQL. */
  deliveries: DeliveryRecord[];
  events: { tenantId: string; id: string }[];
}

export function createHistoryMover(redis: Redis, keys: Keys, store: DeliveryStore) {
  redis.defineCommand('hlDropMovedDelivery', { lua: DROP_DELIVERY });
  redis.defineCommand('hlDropMovedEvent', { numberOfKeys: 1, lua: DROP_EVENT });
  const commands = redis as unknown as MoverCommands;
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
      for (const r of moved.deliveries) {
        (
          pipe as unknown as { hlDropMovedDelivery: (...a: (string | number)[]) => unknown }
        ).hlDropMovedDelivery(
          4,
          keys.delivery(r.id),
          keys.deliveryAttempts(r.id),
          keys.subDeliveries(r.subscriptionId),
          keys.event(r.tenantId, r.eventId),
          r.id,
          ...finals,
        );
      }
      for (const e of moved.events)
        (pipe as unknown as { hlDropMovedEvent: (...a: string[]) => unknown }).hlDropMovedEvent(
          keys.event(e.tenantId, e.id),
        );
      await execAll(pipe);
    },

    commands,
  };
}

export type HistoryMover = ReturnType<typeof createHistoryMover>;
