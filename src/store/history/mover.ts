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
import { luaScript, type ScriptArg } from '../../redis/scripts.js';
import type { DeliveryRecord, DeliveryStore } from '../delivery-store.js';
import { recordFromRedis } from '../delivery-layout.js';
import type { HistoryBatch, HistoryDelivery } from './history-store.js';
import type { RecentHistory } from './recent.js';

/** An outbox entry naming what moved: an ended delivery, or an event without deliveries. */
export type MoveRef = { delivery: string } | { event: { tenantId: string; id: string } };

/** Outbox fields of a move entry. */
export const MOVE_FIELDS = { delivery: 'x', event: 'v' } as const;

/** One command for a written batch: per delivery 1 dropped, 0 not ended or gone, 2 named again; per event 1 dropped. */
const DROP = luaScript<string[], ScriptArg[], number[]>('history-drop');

/** Deliveries and events a drop command takes at most (Redis runs each whole). */
export const DROP_SLICE = 100;

export interface MovedBatch {
  batch: HistoryBatch;
  /** What to drop from Redis once the batch is in PostgreSQL. */
  deliveries: DeliveryRecord[];
  events: { tenantId: string; id: string }[];
}

export function createHistoryMover(redis: Redis, keys: Keys, store: DeliveryStore, recent?: RecentHistory) {
  const finals = [...FINAL_STATUSES].join(' ');

  return {
    /**
     * The records the entries name, read from Redis: each ended delivery with its event (events
     * are immutable; writing one twice changes nothing). An entry whose record is gone was moved
     * already (by another writer) and yields nothing.
     */
    async resolve(refs: MoveRef[]): Promise<MovedBatch> {
      const ids = refs.flatMap((r) => ('delivery' in r ? [r.delivery] : []));
      const eventRefs = refs.flatMap((r) => ('event' in r ? [r.event] : []));
      // What this process just ended is taken as its ending command left it; the rest is read.
      const known: DeliveryRecord[] = [];
      const unknown: string[] = [];
      for (const id of ids) {
        const fields = recent?.takeRecord(id);
        const r = fields && recordFromRedis(id, fields, undefined);
        if (r) known.push(r);
        else unknown.push(id);
      }
      const read = unknown.length > 0 ? await store.getMany(unknown) : [];
      const records = [...known, ...read].filter((r) => FINAL_STATUSES.has(r.status));
      // Each event with the number of entries it serves here (one per record, and its own).
      const wanted = new Map<string, { tenantId: string; id: string; uses: number; own: boolean }>();
      const want = (tenantId: string, id: string, own: boolean) => {
        const key = `${tenantId}|${id}`;
        const w = wanted.get(key) ?? { tenantId, id, uses: 0, own: false };
        w.uses++;
        w.own ||= own;
        wanted.set(key, w);
      };
      for (const r of records) want(r.tenantId, r.eventId, false);
      for (const e of eventRefs) want(e.tenantId, e.id, true);
      const byKey = new Map<string, HooklineEvent>();
      // An event this process has written already is written again only with its own entry.
      const inPg = new Set<string>();
      const toRead: { tenantId: string; id: string }[] = [];
      for (const [key, ref] of wanted) {
        const e = recent?.takeEvent(ref.tenantId, ref.id, ref.uses);
        if (e) byKey.set(key, e.event);
        else toRead.push({ tenantId: ref.tenantId, id: ref.id });
        if (e?.written && !ref.own) inPg.add(key);
      }
      const events = toRead.length > 0 ? await store.getEvents(toRead) : [];
      toRead.forEach((ref, i) => {
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
        batch: { events: [...byKey].flatMap(([key, e]) => (inPg.has(key) ? [] : [e])), deliveries },
        deliveries: moved,
        events: eventRefs.filter((e) => byKey.has(`${e.tenantId}|${e.id}`)),
      };
    },

    /**
     * Drops the Redis copies of what is now in PostgreSQL: a command per DROP_SLICE deliveries
     * and events, each sent once the one before is answered (another tenant's commands run
     * between them).
     */
    async drop(moved: Pick<MovedBatch, 'batch' | 'deliveries' | 'events'>): Promise<void> {
      // Called once the batch is in PostgreSQL: its events need not be written again from here.
      for (const e of moved.batch.events ?? []) recent?.eventWritten(e.tenantId, e.id);
      for (let at = 0; at < moved.deliveries.length; at += DROP_SLICE) {
        const slice = moved.deliveries.slice(at, at + DROP_SLICE);
        const keyArgs = [keys.history()];
        const args: ScriptArg[] = [slice.length, finals];
        for (const r of slice) {
          keyArgs.push(
            keys.delivery(r.id),
            keys.deliveryAttempts(r.id),
            keys.subDeliveries(r.subscriptionId),
            keys.event(r.tenantId, r.eventId),
          );
          args.push(r.id, r.redrivenTo ?? '');
        }
        await DROP.run(redis, keyArgs, args);
      }
      for (let at = 0; at < moved.events.length; at += DROP_SLICE) {
        const slice = moved.events.slice(at, at + DROP_SLICE);
        await DROP.run(
          redis,
          [keys.history(), ...slice.map((e) => keys.event(e.tenantId, e.id))],
          [0, finals],
        );
      }
    },
  };
}

export type HistoryMover = ReturnType<typeof createHistoryMover>;
