// A fan-out's writes (the batching half of the delivery store): each event stored, and a pending
// record per delivery indexed under its subscription, PENDING_SLICE deliveries a command, either
// as commands of the caller's pipeline (addPending) or one round trip after another (writePending:
// the fan-out), so that no one command of a big fan-out holds Redis long.
import type { ChainableCommander } from 'ioredis';
import type { DeliveryStatus } from '../domain/delivery-record.js';
import { markDigest, staleRank } from '../domain/stale-status.js';
import { luaScript, type ScriptArg } from '../redis/scripts.js';
import { eventToRedis } from './delivery-layout.js';
import type { DeliveryStoreContext, PendingBatchItem, PendingStatuses } from './delivery-types.js';
import { messageIndexField, markWindow } from './status-marks.js';

/**
 * Deliveries per fan-out command. Redis runs one command at a time and a pending record costs it
 * ~60 µs with the Redis history (the record, its index entry, the event and its message index;
 * less with PostgreSQL), so one command for a fan-out of 500 held every other tenant's commands
 * for ~30 ms. A command of 50 holds them for ~3 ms, and writePending sends the commands one round
 * trip after another, so what they send meanwhile runs between them (B6, case (e)).
 */
export const PENDING_SLICE = 50;

/** A fan-out's events cut into commands of at most PENDING_SLICE deliveries (an event split). */
function slicePending(batch: PendingBatchItem[]): PendingBatchItem[][] {
  const size = PENDING_SLICE;
  const slices: PendingBatchItem[][] = [];
  let cur: PendingBatchItem[] = [];
  let n = 0;
  for (const { event, deliveries } of batch) {
    let from = 0;
    do {
      const take = Math.min(deliveries.length - from, size - n);
      cur.push({ event, deliveries: deliveries.slice(from, from + take) });
      from += take;
      n += take;
      if (n >= size) {
        slices.push(cur);
        cur = [];
        n = 0;
      }
    } while (from < deliveries.length);
  }
  if (cur.length > 0) slices.push(cur);
  return slices;
}

/**
 * Per event its stored copy and message mark, per delivery its record and index entry; answers
 * each delivery's status after the write (`new`, `dropped` or the existing record's).
 */
const ADD_PENDING = luaScript<string[], ScriptArg[], string[]>('add-pending');

export function createDeliveryFanout({ redis, keys, ttlSeconds, logEnded, recent }: DeliveryStoreContext) {
  ADD_PENDING.define(redis); // queued on pipelines of this connection

  /** The keys and arguments of one add-pending command for a chunk of the fan-out. */
  function addPendingArgs(batch: PendingBatchItem[], now: number): [string[], ScriptArg[]] {
    const keyArgs: string[] = [keys.history()];
    const marks = markWindow(keys, ttlSeconds, now);
    // Index entries older than the records they point to are trimmed, so an index never
    // outgrows the retention window however long the subscription lives.
    const args: ScriptArg[] = [
      ttlSeconds,
      '', // unused since 0.5 (was the creation time as ISO)
      now,
      now - ttlSeconds * 1000,
      batch.length,
      logEnded ? 1 : 0,
      marks.base,
      marks.slot,
      marks.indexBase,
      marks.expireAt,
    ];
    for (const { event, deliveries } of batch) {
      const stored = eventToRedis(event);
      recent?.putEvent(event, deliveries.length, stored.length);
      const rank = event.messageId ? (staleRank(event.type) ?? 0) : 0;
      const evt = keys.event(event.tenantId, event.id);
      const indexed = !!event.messageId && !logEnded;
      keyArgs.push(
        evt,
        rank > 0 ? marks.table : evt,
        // PostgreSQL finds a message's deliveries itself; Redis needs an index: the message's
        // entry in the current slot's message index (./status-marks.ts).
        indexed ? marks.indexTable : evt,
      );
      args.push(
        event.id,
        stored,
        deliveries.length,
        rank,
        event.tenantId,
        indexed ? messageIndexField(event.tenantId, event.messageId!) : '',
      );
      for (const d of deliveries) {
        keyArgs.push(keys.delivery(d.id), keys.subDeliveries(d.subscriptionId));
        args.push(
          d.id,
          d.subscriptionId,
          d.tenantId,
          d.target ?? 'subscription',
          d.series ?? 0,
          d.retryOf ?? '',
          d.markField && rank > 0 ? markDigest(event.tenantId, event.messageId!, d.markField) : '',
        );
      }
    }
    return [keyArgs, args];
  }

  /** Each delivery's status after the write, whether the write created it, how many superseded. */
  const outcome = (raw: string[]) => ({
    statuses: raw.map(
      (s) => (s === 'new' ? 'pending' : s === 'dropped' ? 'superseded' : s) as DeliveryStatus,
    ),
    fresh: raw.map((s) => s === 'new'),
    dropped: raw.filter((s) => s === 'dropped').length,
  });

  return {
    /**
     * Adds commands to a pipeline that store each event and a pending record per delivery (an
     * existing record, from a re-run fan-out, keeps its status), at most PENDING_SLICE
     * deliveries a command. Returns a reader of the deliveries' statuses after the write, in
     * order, from the pipeline's replies.
     */
    addPending(pipe: ChainableCommander, batch: PendingBatchItem[], now: number): PendingStatuses {
      const at: number[] = [];
      for (const slice of slicePending(batch)) {
        ADD_PENDING.queue(pipe, ...addPendingArgs(slice, now));
        at.push(pipe.length - 1);
      }
      const read = (replies: unknown[]) => outcome(at.flatMap((i) => replies[i] as string[]));
      return Object.assign((replies: unknown[]) => read(replies).statuses, {
        fresh: (replies: unknown[]) => read(replies).fresh,
        dropped: (replies: unknown[]) => read(replies).dropped,
      });
    },

    /**
     * What addPending writes, each command in a round trip of its own, sent once the one before
     * is answered. Answers each delivery's status after the write and whether this call created
     * it, in order, and how many it created `superseded`. A failed write throws.
     */
    async writePending(
      batch: PendingBatchItem[],
      now: number,
      /** Awaited before each slice after the first (a heavy tenant lets lighter ones go first). */
      between?: () => Promise<void> | undefined,
    ): Promise<{ statuses: DeliveryStatus[]; fresh: boolean[]; dropped: number }> {
      const raw: string[] = [];
      // Each a command of its own, not a pipeline of one: an ioredis pipeline copies every
      // command defined on its connection when it is made.
      for (const [i, slice] of slicePending(batch).entries()) {
        const wait = i > 0 ? between?.() : undefined;
        if (wait) await wait;
        raw.push(...(await ADD_PENDING.run(redis, ...addPendingArgs(slice, now))));
      }
      return outcome(raw);
    },
  };
}
