// Message status marks in the delivery store against real Redis: a succeeded status raises its
// destination's level and never lowers it, the mark holds for the retention (its slot table's
// window) and no longer, only a delivery still pending or retrying is ended `superseded` by it,
// and the tables stay small listpacks however many marks a slot holds.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { HooklineEvent } from '../../src/domain/event.js';
import { deliveryId } from '../../src/domain/ids.js';
import { markDigest, packMark } from '../../src/domain/stale-status.js';
import { lhBucketOf, lhBuckets } from '../../src/redis/linear-hash.js';
import {
  MARK_BACK,
  markWindow,
  messageEventIds,
  messageIndexField,
  readMark,
} from '../../src/store/status-marks.js';
import { execAll, type Attempt, type DeliveryStore } from '../../src/store/delivery-store.js';
import { withDeliveryStore } from '../helpers/store.js';

const TTL = 3600;
let redis: Redis;
let store: DeliveryStore;
const keys = withDeliveryStore(TTL, (opened) => ({ redis, store } = opened));

const attempt: Attempt = {
  n: 1,
  startedAt: new Date().toISOString(),
  durationMs: 1,
  statusCode: 200,
  error: null,
  responseHeaders: {},
  responseBody: '',
};

const message = (messageId: string, type: string, id = `evt_${type}_${messageId}`) =>
  ({ id, tenantId: 't', type, messageId }) as HooklineEvent;

/** Writes a pending record for the event's delivery to `sub`; returns its status after the write. */
async function pending(event: HooklineEvent, id: string, sub = 'sub_a'): Promise<string> {
  const pipe = redis.pipeline();
  const statusesOf = store.addPending(
    pipe,
    [{ event, deliveries: [{ id, eventId: event.id, subscriptionId: sub, tenantId: 't', markField: sub }] }],
    Date.now(),
  );
  return statusesOf(await execAll(pipe))[0]!;
}

const succeed = (event: HooklineEvent, id: string, level: number) =>
  store.recordAttempt(id, { tenantId: event.tenantId, id: event.id }, attempt, 'succeeded', null, {
    tenantId: 't',
    messageId: event.messageId!,
    field: 'sub_a',
    level,
  });

describe('message status marks', () => {
  it('keeps the highest level delivered and the delivery that reached it, for the retention', async () => {
    const read = message('m1', 'message.read');
    const delivered = message('m1', 'message.delivered');
    await pending(read, 'dlv_read');
    await pending(delivered, 'dlv_delivered');
    await succeed(read, 'dlv_read', 3);
    await succeed(delivered, 'dlv_delivered', 2);
    expect(await readMark(redis, keys, TTL, { tenantId: 't', messageId: 'm1', field: 'sub_a' })).toEqual({
      level: 3,
      by: 'dlv_read',
    });
    // The message index (the Redis history's) names both events; no key of the message's own.
    expect((await messageEventIds(redis, keys, TTL, 't', 'm1')).sort()).toEqual(
      [read.id, delivered.id].sort(),
    );
    expect(await redis.exists(keys.messageStatus('t', 'm1'))).toBe(0);
    // The mark's table lives until no window holds its slot: at least the retention.
    const { table, indexTable } = markWindow(keys, TTL, Date.now());
    for (const k of [table, `${table}:0`, indexTable, `${indexTable}:0`]) {
      expect(await redis.ttl(k)).toBeGreaterThanOrEqual(TTL);
      expect(await redis.ttl(k)).toBeLessThanOrEqual((MARK_BACK + 1) * TTL + 60);
    }
  });

  it('supersedes only a delivery still pending or retrying', async () => {
    const delivered = message('m2', 'message.delivered');
    const sent = message('m2', 'message.sent');
    const again = message('m2', 'message.sent', 'evt_sent_m2_again');
    await pending(sent, 'dlv_sent');
    await pending(again, 'dlv_sent_done');
    await store.recordAttempt(
      'dlv_sent_done',
      { tenantId: again.tenantId, id: again.id },
      attempt,
      'succeeded',
      null,
    );
    await pending(delivered, 'dlv_delivered2');
    await succeed(delivered, 'dlv_delivered2', 2);

    expect(await store.supersedeIfStale('dlv_sent_done', sent, 'sub_a', 1)).toBeUndefined();
    expect(await store.getStatus('dlv_sent_done')).toBe('succeeded');
    expect(await store.supersedeIfStale('dlv_sent', sent, 'sub_a', 1)).toBe('dlv_delivered2');
    expect(await store.get('dlv_sent')).toMatchObject({
      status: 'superseded',
      supersededBy: 'dlv_delivered2',
    });
    // Another destination, or a status the mark does not outrank, goes ahead.
    await pending(sent, 'dlv_sent_b', 'sub_b');
    expect(await store.supersedeIfStale('dlv_sent_b', sent, 'sub_b', 1)).toBeUndefined();
    await pending(message('m2', 'message.delivered', 'evt_delivered_m2_again'), 'dlv_delivered_again');
    expect(await store.supersedeIfStale('dlv_delivered_again', delivered, 'sub_a', 2)).toBeUndefined();
    expect(await store.getStatus('dlv_delivered_again')).toBe('pending');
    // A record created after the mark is superseded as it is written.
    expect(await pending(message('m2', 'message.sent', 'evt_sent_m2_late'), 'dlv_sent_late')).toBe(
      'superseded',
    );
    expect(await pending(message('m2', 'message.read', 'evt_read_m2'), 'dlv_read_m2')).toBe('pending');
  });
});

describe('message status marks: compact layout', () => {
  /** Writes a mark as the scripts do, in the slot `slotsAgo` before the current one (negative: ahead). */
  async function markIn(slotsAgo: number, messageId: string, level: number, by: string, tenantId = 't') {
    const { slot } = markWindow(keys, TTL, Date.now());
    const table = keys.markTable(slot - slotsAgo);
    const field = markDigest(tenantId, messageId, 'sub_a');
    const bucket = `${table}:${lhBucketOf(field, lhBuckets(Number((await redis.get(table)) ?? 0)))}`;
    await redis.hset(bucket, field, packMark(level, by));
    await redis.expire(bucket, 600);
    // Counted, as the scripts count what they add (a table without a count is not looked at).
    if ((await redis.incr(table)) === 1) await redis.expire(table, 600);
  }

  it('names the superseding delivery by its full id, packed into 18 bytes (created superseded, or at its attempt)', async () => {
    const delivered = message('m3', 'message.delivered');
    const by = deliveryId('t', delivered.id, 'sub_a');
    expect(packMark(2, by)).toHaveLength(19);
    await pending(delivered, by);
    await succeed(delivered, by, 2);
    expect(await readMark(redis, keys, TTL, { tenantId: 't', messageId: 'm3', field: 'sub_a' })).toEqual({
      level: 2,
      by,
    });
    const sent = message('m3', 'message.sent');
    expect(await pending(sent, 'dlv_sent_m3')).toBe('superseded');
    expect(await store.get('dlv_sent_m3')).toMatchObject({ supersededBy: by });
    await store.setStatus('dlv_sent_m3', 'pending');
    expect(await store.supersedeIfStale('dlv_sent_m3', sent, 'sub_a', 1)).toBe(by);
  });

  it('reads the window: the next slot and MARK_BACK slots back, not one more', async () => {
    const by = deliveryId('t', 'evt_window', 'sub_a');
    await markIn(-1, 'm-ahead', 2, by);
    await markIn(MARK_BACK, 'm-edge', 2, by);
    await markIn(MARK_BACK + 1, 'm-past', 2, by);
    // A lower level of a later slot does not hide a higher one of an earlier slot.
    await markIn(MARK_BACK, 'm-two', 3, by);
    await markIn(0, 'm-two', 2, 'dlv_other');
    for (const [m, expected] of [
      ['m-ahead', 'superseded'],
      ['m-edge', 'superseded'],
      ['m-past', 'pending'],
    ] as const)
      expect(await pending(message(m, 'message.sent'), `dlv_w_${m}`), m).toBe(expected);
    expect(await readMark(redis, keys, TTL, { tenantId: 't', messageId: 'm-two', field: 'sub_a' })).toEqual({
      level: 3,
      by,
    });
    expect(await pending(message('m-two', 'message.delivered'), 'dlv_w_two')).toBe('superseded');
  });

  it('keeps tenants apart: the same message id and destination under another tenant is another mark', async () => {
    await markIn(0, 'm-shared', 3, 'dlv_t_read');
    const other = { ...message('m-shared', 'message.sent'), tenantId: 'u' } as HooklineEvent;
    const pipe = redis.pipeline();
    const statusesOf = store.addPending(
      pipe,
      [
        {
          event: other,
          deliveries: [
            {
              id: 'dlv_u_sent',
              eventId: other.id,
              subscriptionId: 'sub_a',
              tenantId: 'u',
              markField: 'sub_a',
            },
          ],
        },
      ],
      Date.now(),
    );
    expect(statusesOf(await execAll(pipe))).toEqual(['pending']);
    expect(await pending(message('m-shared', 'message.sent'), 'dlv_t_sent')).toBe('superseded');
  });

  it('keeps every table bucket a listpack of at most 128 marks (3,000 marks in one slot)', async () => {
    const n = 3_000;
    const first = markWindow(keys, TTL, Date.now()).slot;
    await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const id = deliveryId('t', `evt_bulk_${i}`, 'sub_a');
        return store.recordAttempt(id, { tenantId: 't', id: `evt_bulk_${i}` }, attempt, 'succeeded', null, {
          tenantId: 't',
          messageId: `m-bulk-${i}`,
          field: 'sub_a',
          level: 2,
        });
      }),
    );
    // The writes may straddle a slot boundary (slots start on the hour): every slot they used.
    const last = markWindow(keys, TTL, Date.now()).slot;
    let total = 0;
    for (let slot = first; slot <= last; slot++) {
      const table = keys.markTable(slot);
      const count = Number(await redis.get(table));
      total += count;
      for (let b = 0; b < lhBuckets(count); b++) {
        const k = `${table}:${b}`;
        expect(await redis.hlen(k), k).toBeLessThanOrEqual(128);
        expect(await redis.object('ENCODING', k), k).toBe('listpack');
      }
    }
    expect(total).toBeGreaterThanOrEqual(n);
    for (const i of [0, 1_234, n - 1])
      expect(
        await readMark(redis, keys, TTL, { tenantId: 't', messageId: `m-bulk-${i}`, field: 'sub_a' }),
      ).toEqual({
        level: 2,
        by: deliveryId('t', `evt_bulk_${i}`, 'sub_a'),
      });
  });
});

describe('message index (the Redis history)', () => {
  it('lists a message’s events once each, across slots of the window, and 0.4.0-pre’s `e:` fields', async () => {
    const a = message('m-ix', 'message.sent', 'evt_ix_a');
    const b = message('m-ix', 'message.delivered', 'evt_ix_b');
    await pending(a, 'dlv_ix_a');
    await pending(a, 'dlv_ix_a'); // a re-run fan-out: listed once
    await pending(b, 'dlv_ix_b');
    // An event indexed MARK_BACK slots ago, one indexed a slot too early, and 0.4.0-pre's hash.
    const { slot } = markWindow(keys, TTL, Date.now());
    const field = messageIndexField('t', 'm-ix');
    await redis.hset(`${keys.messageIndex(slot - MARK_BACK)}:0`, field, 'evt_ix_old');
    await redis.hset(`${keys.messageIndex(slot - MARK_BACK - 1)}:0`, field, 'evt_ix_gone');
    await redis.hset(keys.messageStatus('t', 'm-ix'), 'e:evt_ix_pre', '', 'sub_a', '2:dlv_x');
    expect((await messageEventIds(redis, keys, TTL, 't', 'm-ix')).sort()).toEqual(
      ['evt_ix_a', 'evt_ix_b', 'evt_ix_old', 'evt_ix_pre'].sort(),
    );
    expect(await messageEventIds(redis, keys, TTL, 'u', 'm-ix')).toEqual([]);
  });
});
