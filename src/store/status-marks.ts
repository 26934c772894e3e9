// Where stale-status marks live in Redis (src/domain/stale-status.ts says what they mean): one
// linear-hashed table per time slot (keys.markTable, src/redis/lua/lib/status-marks.lua), a mark
// written to the slot of its write and read across the window, MARK_BACK + 2 slots: the next one
// (a clock ahead; not looked at while it has no table), the current one and MARK_BACK before it.
// MARK_BACK slots cover the retention (DELIVERY_LOG_TTL_DAYS), so a mark supersedes for at least
// the retention after its write (the longest a record, and so a stale delivery, waits) and at
// most one slot longer; its table then expires whole. 7 days of retention: slots of 84 h, marks
// kept 7 to 10.5 days. Each slot of the window costs a lookup per check (a scan of a listpack of
// about 40 fields, some µs of Redis CPU), hence few, wide slots. Without PostgreSQL, the message
// index (a message's event ids, for the Redis history's messageId filter) uses the same slots.
import { digest12 } from '../domain/digest.js';
import type { Redis } from 'ioredis';
import { markDigest } from '../domain/stale-status.js';
import type { Keys } from '../redis/client.js';
import { lhBucketOf, lhBuckets } from '../redis/linear-hash.js';

/** Slots before the current one that a read looks at (lua/lib/status-marks.lua's MK_BACK). */
export const MARK_BACK = 2;

/** The mark window at `nowMs` for a retention of `ttlSeconds`. */
export function markWindow(keys: Keys, ttlSeconds: number, nowMs: number) {
  const width = Math.ceil(ttlSeconds / MARK_BACK / 3600) * 3600;
  const slot = Math.floor(nowMs / 1000 / width);
  return {
    /** The tables' base (`<prefix>:mk:`): a slot's table is the base and the slot number. */
    base: `${keys.prefix}:mk:`,
    slot,
    /** The current slot's table (its count key), the one written to. */
    table: keys.markTable(slot),
    /** The message index tables' base (`<prefix>:mx:`). */
    indexBase: `${keys.prefix}:mx:`,
    /** The current slot's message index table. */
    indexTable: keys.messageIndex(slot),
    /** When the current slot's tables expire (epoch seconds): once no window holds the slot. */
    expireAt: (slot + MARK_BACK + 1) * width + 60,
  };
}

/**
 * The mark of a message at a destination (its markField) as a delivery would see it now: the
 * highest level of the window and the delivery that reached it (tests, tools; the scripts read
 * marks themselves).
 */
export async function readMark(
  redis: Redis,
  keys: Keys,
  ttlSeconds: number,
  mark: { tenantId: string; messageId: string; field: string },
  nowMs = Date.now(),
): Promise<{ level: number; by: string } | undefined> {
  const { slot } = markWindow(keys, ttlSeconds, nowMs);
  const field = markDigest(mark.tenantId, mark.messageId, mark.field);
  let best: { level: number; by: string } | undefined;
  for (let s = slot + 1; s >= slot - MARK_BACK; s--) {
    const table = keys.markTable(s);
    const count = Number((await redis.get(table)) ?? 0);
    const v = await redis.hgetBuffer(`${table}:${lhBucketOf(field, lhBuckets(count))}`, field);
    if (!v) continue;
    const level = v[0]! - 48;
    const by = v.length === 19 ? `dlv_${v.subarray(1).toString('base64url')}` : v.subarray(2).toString();
    if (!best || level > best.level) best = { level, by };
  }
  return best;
}

/** A message's field in the message index: 12 bytes of SHA-256 over tenant and message id. */
export const messageIndexField = (tenantId: string, messageId: string): Buffer =>
  digest12(`${tenantId}\n${messageId}`);

/** The ids of a tenant's events of a message that the index holds (the window's slots), oldest slot last. */
export async function messageEventIds(
  redis: Redis,
  keys: Keys,
  ttlSeconds: number,
  tenantId: string,
  messageId: string,
  nowMs = Date.now(),
): Promise<string[]> {
  const { slot } = markWindow(keys, ttlSeconds, nowMs);
  const field = messageIndexField(tenantId, messageId);
  const tables = Array.from({ length: MARK_BACK + 2 }, (_, i) => keys.messageIndex(slot + 1 - i));
  const counts = await redis.mget(tables);
  const pipe = redis.pipeline();
  tables.forEach((t, i) => pipe.hget(`${t}:${lhBucketOf(field, lhBuckets(Number(counts[i] ?? 0)))}`, field));
  // 0.4.0-pre's index: `e:<event id>` fields of the message's own hash, until it expires.
  pipe.hkeys(keys.messageStatus(tenantId, messageId));
  const replies = (await pipe.exec()) ?? [];
  const ids = new Set<string>();
  replies.forEach(([err, v], i) => {
    if (err) throw err;
    const found =
      i < tables.length
        ? ((v as string | null) ?? '').split(' ')
        : (v as string[]).filter((f) => f.startsWith('e:')).map((f) => f.slice(2));
    for (const id of found) if (id) ids.add(id);
  });
  return [...ids];
}
