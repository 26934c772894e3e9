// What happens to a delivery record after its fan-out: attempts appended (those finishing in the
// same event-loop turn by one command), statuses set, stale deliveries superseded, and records
// and events kept alive while a delivery waits.
//
// Status marks (stale-status suppression, src/domain/stale-status.ts): per message and destination
// the highest status level delivered there and the delivery that did it, as a 12-byte field of a
// slot's table (./status-marks.ts). A pending delivery whose rank is below the level is superseded
// by that delivery. Written only by deliveries that raise the level; kept at least the retention
// (DELIVERY_LOG_TTL_DAYS) after that write, which is as long as a stale delivery can wait.
import type { ChainableCommander } from 'ioredis';
import type { Attempt, DeliveryStatus } from '../domain/delivery-record.js';
import type { HooklineEvent } from '../domain/event.js';
import { markDigest, packMark } from '../domain/stale-status.js';
import { execAll, fromPairs } from '../redis/exec-all.js';
import { luaScript, type ScriptArg } from '../redis/scripts.js';
import { tickBatcher } from './batcher.js';
import type { DeliveryStoreContext, EventRef, StatusMark } from './delivery-types.js';
import { attemptToRedis } from './delivery-layout.js';
import { eventKey } from './legacy-events.js';
import { markWindow } from './status-marks.js';

/**
 * The outbox, a flag and the mark window, then per record (four keys, twelve arguments): an
 * attempt appended, its status set, a mark raised. Answers the older-layout records to send again,
 * or with the flag 2, those and the hashes of the records it logged as ended: [id, fields] pairs.
 */
const RECORD_ATTEMPTS = luaScript<string[], ScriptArg[], string[] | [string[], (string | string[])[]]>(
  'record-attempts',
);
/** Answers the superseding delivery's id, or null to go ahead. */
const SUPERSEDE_IF_STALE = luaScript<
  [rec: string, mark: string, history: string],
  [
    field: Buffer,
    rank: number,
    updatedAt: string,
    log: number,
    id: string,
    updatedMs: number,
    markBase: string,
    markSlot: number,
  ],
  string | null
>('supersede-if-stale');
const KEEP_ALIVE = luaScript<string[], [ttlSeconds: number], 1>('keep-alive');
const SET_STATUS = luaScript<
  [rec: string, history: string],
  [
    status: DeliveryStatus,
    updatedAt: string,
    nextAttemptAt: string,
    log: number,
    id: string,
    updatedMs: number,
    nextAttemptMs: number | '',
  ],
  0 | 1
>('set-status');

interface AttemptWrite {
  id: string;
  event: EventRef;
  attempt: Attempt;
  status: DeliveryStatus;
  nextAttemptAt: number | null;
  mark?: StatusMark;
}

export function createDeliveryAttempts({ redis, keys, ttlSeconds, logEnded, recent }: DeliveryStoreContext) {
  const log = logEnded ? 1 : 0;
  // With a recent-history cache, the script answers the records it ended, for the writer.
  const logArg = logEnded && recent ? 2 : log;
  KEEP_ALIVE.define(redis); // queued on pipelines of this connection

  // Attempts finishing in the same event-loop turn are written by one command.
  /**
   * One command for the batch. The older layout's whole attempt JSON and ISO times are sent only
   * for the records the script names as older-layout ones (a second command, for them alone).
   */
  async function write(batch: AttemptWrite[], legacy: boolean): Promise<string[]> {
    const keyArgs: string[] = [keys.history()];
    const now = Date.now();
    const marks = markWindow(keys, ttlSeconds, now);
    const args: ScriptArg[] = [logArg, marks.base, marks.slot, marks.expireAt];
    const updatedAt = legacy ? new Date(now).toISOString() : '';
    for (const w of batch) {
      const m = w.mark;
      keyArgs.push(
        keys.delivery(w.id),
        keys.deliveryAttempts(w.id),
        eventKey(keys, w.event),
        m ? marks.table : keys.delivery(w.id),
      );
      const wait = w.nextAttemptAt ? Math.max(0, Math.ceil((w.nextAttemptAt - now) / 1000)) : 0;
      const compact = attemptToRedis(w.attempt);
      args.push(
        legacy ? JSON.stringify(w.attempt) : '',
        w.status,
        updatedAt,
        legacy && w.nextAttemptAt ? new Date(w.nextAttemptAt).toISOString() : '',
        ttlSeconds + wait,
        m ? markDigest(m.tenantId, m.messageId, m.field) : '',
        m ? packMark(m.level, w.id) : '',
        w.id,
        now,
        w.nextAttemptAt || '',
        compact.startedMs ?? '',
        compact.tuple,
      );
    }
    const reply = await RECORD_ATTEMPTS.run(redis, keyArgs, args);
    if (logArg !== 2) return reply as string[];
    const [skipped, ended] = reply as [string[], (string | string[])[]];
    for (let i = 0; i + 1 < ended.length; i += 2)
      recent!.putRecord(ended[i] as string, fromPairs(ended[i + 1] as string[]));
    return skipped;
  }

  // Attempts finishing in the same event-loop turn are written by one command.
  const writeAttempt = tickBatcher<AttemptWrite, unknown>(
    async (batch) => {
      const skipped = await write(batch, false);
      if (skipped.length > 0) {
        const again = new Set(skipped);
        await write(
          batch.filter((w) => again.has(w.id)),
          true,
        );
      }
      return batch;
    },
    // A tenant's attempts stay together; a light tenant's are written first (src/store/batcher.ts).
    { groupOf: (w) => w.event.tenantId ?? '' },
  );

  const attempts = {
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
      const now = Date.now();
      const marks = markWindow(keys, ttlSeconds, now);
      const by = await SUPERSEDE_IF_STALE.run(
        redis,
        [keys.delivery(id), marks.table, keys.history()],
        [
          markDigest(event.tenantId, event.messageId!, field),
          rank,
          new Date(now).toISOString(),
          log,
          id,
          now,
          marks.base,
          marks.slot,
        ],
      );
      return by ?? undefined;
    },

    /** Keeps a waiting delivery's record and event at least the retention plus `waitMs`. */
    async keepAlive(id: string, event: EventRef, waitMs: number): Promise<void> {
      await execAll(attempts.keepAliveIn(redis.pipeline(), id, event, waitMs));
    },

    /** keepAlive as one more command of a pipeline (the caller runs it). */
    keepAliveIn(pipe: ChainableCommander, id: string, event: EventRef, waitMs: number): ChainableCommander {
      return KEEP_ALIVE.queue(
        pipe,
        [keys.delivery(id), keys.deliveryAttempts(id), eventKey(keys, event)],
        [ttlSeconds + Math.ceil(waitMs / 1000)],
      );
    },

    /** Sets the status of an existing record (one that expired stays gone). */
    async setStatus(id: string, status: DeliveryStatus, nextAttemptAt: number | null = null): Promise<void> {
      const now = Date.now();
      await SET_STATUS.run(
        redis,
        [keys.delivery(id), keys.history()],
        [
          status,
          new Date(now).toISOString(),
          nextAttemptAt ? new Date(nextAttemptAt).toISOString() : '',
          log,
          id,
          now,
          nextAttemptAt || '',
        ],
      );
    },
  };
  return attempts;
}
