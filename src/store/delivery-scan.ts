// Paging delivery records through the per-subscription indexes (scored by creation time,
// ./delivery-index.ts): one subscription's, or several merged newest first, with an opaque cursor.
import type { DeliveryRecord } from '../domain/delivery-record.js';
import { validationError } from '../domain/errors.js';
import { execAll } from '../redis/exec-all.js';
import type { DeliveryStoreContext, ScanOptions } from './delivery-types.js';
import {
  entriesOf,
  INDEX_RANGE,
  indexRange,
  queueIndexRange,
  type IndexEntry as Entry,
} from './delivery-index.js';
import { statusFromRedis } from './delivery-layout.js';

/** Index order: newest first, ties by id descending (as ZREVRANGEBYSCORE returns them). */
const before = (a: Entry, b: Entry) => a.score > b.score || (a.score === b.score && a.id > b.id);
const encodeCursor = (e: Entry) => Buffer.from(`${e.score}|${e.id}`).toString('base64url');
function decodeCursor(c: string): Entry | undefined {
  const m = /^(\d+)\|(.+)$/.exec(Buffer.from(c, 'base64url').toString());
  return m ? { score: Number(m[1]), id: m[2]! } : undefined;
}

export function createDeliveryScan(
  { redis, keys }: DeliveryStoreContext,
  getMany: (ids: string[], withAttempts?: boolean) => Promise<DeliveryRecord[]>,
) {
  INDEX_RANGE.define(redis); // queued on pipelines of this connection
  /** The next index entries after `pos`, merged across keys, up to where every key is known. */
  async function nextEntries(indexKeys: string[], pos: Entry | undefined, opts: ScanOptions, batch: number) {
    const max = pos ? pos.score : opts.until;
    const min = opts.since;
    const read = async (keyList: string[], n: number) => {
      const pipe = redis.pipeline();
      for (const key of keyList) queueIndexRange(pipe, key, { max, min, n });
      return (await execAll(pipe)).map((flat) => entriesOf(flat as string[]));
    };
    const merged: Entry[] = [];
    let frontier: Entry | undefined;
    let todo = indexKeys;
    // Entries sharing the cursor's score are read again and skipped; a key that returns only
    // those is read again, wider.
    for (let n = batch; todo.length > 0; n *= 4) {
      const pages = await read(todo, n);
      const again: string[] = [];
      pages.forEach((got, k) => {
        const fresh = pos ? got.filter((e) => before(pos, e)) : got;
        const truncated = got.length === n;
        if (truncated && fresh.length === 0) return void again.push(todo[k]!);
        merged.push(...fresh);
        const last = got.at(-1);
        if (truncated && last && (!frontier || before(last, frontier))) frontier = last;
      });
      todo = again;
    }
    merged.sort((a, b) => (before(a, b) ? -1 : 1));
    const known = frontier ? merged.filter((e) => !before(frontier!, e)) : merged;
    return { entries: known, exhausted: frontier === undefined };
  }

  return {
    /**
     * Newest first, by creation time, as id, score, …; `before` is an exclusive score bound for
     * paging (scores are whole ms).
     */
    async idsForSubscription(
      subId: string,
      opts: { limit: number; before?: number; since?: number; until?: number },
    ): Promise<string[]> {
      const max = opts.before !== undefined ? opts.before - 1 : opts.until;
      const entries = await indexRange(redis, keys.subDeliveries(subId), {
        max,
        min: opts.since,
        n: opts.limit,
      });
      return entries.flatMap((e) => [e.id, String(e.score)]);
    },

    /**
     * Walks delivery indexes (one per subscription) newest first, merged, keeping only `status`
     * when given. Returns a page of records and a cursor while entries remain.
     */
    async scan(
      indexKeys: string[],
      opts: ScanOptions,
    ): Promise<{ data: DeliveryRecord[]; nextCursor: string | null }> {
      let pos: Entry | undefined;
      if (opts.cursor) {
        pos = decodeCursor(opts.cursor);
        if (!pos)
          throw validationError([
            { path: '/querystring/cursor', message: 'is not a cursor of this listing' },
          ]);
      }
      const budget = opts.budget ?? 2_000;
      const batch = Math.min(Math.max(opts.limit * 2, 100), 1_000);
      const ids: string[] = [];
      let examined = 0;
      let done = false;
      while (ids.length < opts.limit && examined < budget && !done) {
        const { entries, exhausted } = await nextEntries(indexKeys, pos, opts, batch);
        if (entries.length === 0) {
          done = true;
          break;
        }
        let statuses: unknown[] = [];
        if (opts.status) {
          const pipe = redis.pipeline();
          for (const e of entries) pipe.hmget(keys.delivery(e.id), 's', 'status');
          statuses = (await execAll(pipe)).map((f) => {
            const [code, status] = f as (string | null)[];
            return statusFromRedis(code, status);
          });
        }
        let i = 0;
        for (; i < entries.length && ids.length < opts.limit; i++) {
          examined++;
          pos = entries[i]!;
          if (!opts.status || statuses[i] === opts.status) ids.push(entries[i]!.id);
        }
        done = exhausted && i === entries.length;
      }
      const data = await getMany(ids, opts.withAttempts ?? true);
      return { data, nextCursor: done || !pos ? null : encodeCursor(pos) };
    },
  };
}
