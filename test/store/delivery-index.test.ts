// The per-subscription delivery index against real Redis (src/redis/lua/lib/delivery-index.lua):
// entries written by fan-outs in any order (batches of one score, late arrivals) read back in the
// index's order through every path, in chunks that stay listpacks; trimmed to the retention;
// dropped with their record; and the older layout's sorted set still read, merged, until it expires.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { HooklineEvent } from '../../src/domain/event.js';
import { deliveryId } from '../../src/domain/ids.js';
import { luaScript } from '../../src/redis/scripts.js';
import { createDeliveryStore, execAll, type DeliveryStore } from '../../src/store/delivery-store.js';
import { withDeliveryStore } from '../helpers/store.js';

const TTL = 7 * 86_400;
let redis: Redis;
let store: DeliveryStore;
const keys = withDeliveryStore(TTL, (opened) => ({ redis, store } = opened));

interface Entry {
  id: string;
  score: number;
}
/** The index's order: newest first, ties by id descending (byte-wise). */
const newestFirst = (a: Entry, b: Entry) =>
  b.score - a.score || Buffer.compare(Buffer.from(b.id), Buffer.from(a.id));

let n = 0;
/** One fan-out command: an event with a delivery per id to `sub`, created at `ms`. */
async function fanOut(sub: string, ids: string[], ms: number) {
  const eventId = `evt_${n++}`;
  const pipe = redis.pipeline();
  store.addPending(
    pipe,
    [
      {
        event: { id: eventId, tenantId: 't', type: 'message.sent' } as HooklineEvent,
        deliveries: ids.map((id) => ({ id, eventId, subscriptionId: sub, tenantId: 't' })),
      },
    ],
    ms,
  );
  await execAll(pipe);
}

/** Every entry through idsForSubscription (one read), newest first. */
async function allEntries(sub: string): Promise<Entry[]> {
  const flat = await store.idsForSubscription(sub, { limit: 100_000 });
  const out: Entry[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i]!, score: Number(flat[i + 1]) });
  return out;
}

async function scanAll(sub: string, limit: number, status?: 'pending'): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.scan([keys.subDeliveries(sub)], { limit, cursor, status, withAttempts: false });
    ids.push(...page.data.map((r) => r.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}

/** The index's chunk keys (everything under its base but the directory and the base itself). */
async function chunkKeys(sub: string): Promise<string[]> {
  const base = keys.subDeliveries(sub);
  const all = await redis.keys(`${base.replace(/[{}]/g, (c) => `\\${c}`)}:*`);
  return all.filter((k) => k !== `${base}:d`);
}

describe('delivery index', () => {
  it('reads entries written in any order back newest first, in chunks that stay listpacks', async () => {
    const sub = 'sub_order';
    const t0 = Date.now() - 3_600_000;
    const written: Entry[] = [];
    const add = async (ids: string[], ms: number) => {
      await fanOut(sub, ids, ms);
      written.push(...ids.map((id) => ({ id, score: ms })));
    };
    // A batch of 300 deliveries of one score (one command), then steady single ones, late
    // arrivals landing inside full chunks, and another batch of one score.
    await add(
      Array.from({ length: 300 }, (_, i) => `dlv_b${(i * 7919) % 300}`),
      t0,
    );
    for (let i = 0; i < 400; i++) await add([`dlv_s${i}`], t0 + 1_000 + i * 10);
    for (let i = 0; i < 150; i++) await add([`dlv_l${i}`], t0 + 1_000 + ((i * 37) % 400) * 10 + 5);
    await add(
      Array.from({ length: 200 }, (_, i) => `dlv_c${i}`),
      t0 + 900,
    );
    const expected = [...written].sort(newestFirst);

    expect(await allEntries(sub)).toEqual(expected);
    expect(await scanAll(sub, 50)).toEqual(expected.map((e) => e.id));
    // A window, inclusive at both ends.
    const since = t0 + 1_500;
    const until = t0 + 3_005;
    const window = await store.scan([keys.subDeliveries(sub)], { limit: 1_000, since, until });
    expect(window.data.map((r) => r.id)).toEqual(
      expected.filter((e) => e.score >= since && e.score <= until).map((e) => e.id),
    );

    // Chunks of at most 128 entries: listpacks, about 40 bytes an entry (a skiplist costs ~118).
    const chunks = await chunkKeys(sub);
    expect(chunks.length).toBeGreaterThan(written.length / 128);
    let bytes = Number(await redis.memory('USAGE', `${keys.subDeliveries(sub)}:d`, 'SAMPLES', 0));
    for (const k of chunks) {
      expect(await redis.object('ENCODING', k)).toBe('listpack');
      expect(await redis.ttl(k)).toBeGreaterThan(TTL - 60);
      bytes += Number(await redis.memory('USAGE', k, 'SAMPLES', 0));
    }
    expect(bytes / written.length).toBeLessThan(60);
  });

  it('fits 120 real delivery ids a chunk in a 4 KB allocation: under 40 bytes an entry', async () => {
    const sub = 'sub_size';
    const t0 = Date.now() - 600_000;
    // Delivery ids as the fan-out makes them, 1,200 over 12 s, 10 a command.
    for (let i = 0; i < 120; i++)
      await fanOut(
        sub,
        Array.from({ length: 10 }, (_, j) => deliveryId('t', `evt_size_${i}`, `dest_${j}`)),
        t0 + i * 100,
      );
    const chunks = await chunkKeys(sub);
    expect(chunks).toHaveLength(10);
    let bytes = Number(await redis.memory('USAGE', `${keys.subDeliveries(sub)}:d`, 'SAMPLES', 0));
    for (const k of chunks) bytes += Number(await redis.memory('USAGE', k, 'SAMPLES', 0));
    expect(bytes / 1_200).toBeLessThan(40);
  });

  it('merges two indexes newest first, with a status filter', async () => {
    const t0 = Date.now() - 60_000;
    for (let i = 0; i < 300; i++) await fanOut(i % 3 === 0 ? 'sub_m1' : 'sub_m2', [`dlv_m${i}`], t0 + i);
    await store.setStatus('dlv_m7', 'succeeded');
    const page = await store.scan([keys.subDeliveries('sub_m1'), keys.subDeliveries('sub_m2')], {
      limit: 500,
      status: 'pending',
      withAttempts: false,
    });
    const want = Array.from({ length: 300 }, (_, i) => `dlv_m${299 - i}`).filter((id) => id !== 'dlv_m7');
    expect(page.data.map((r) => r.id)).toEqual(want);
  });

  it('drops entries older than the retention on write, whole chunks first', async () => {
    const short = createDeliveryStore(redis, keys, 60);
    const now = Date.now();
    const pipe = redis.pipeline();
    for (let i = 0; i < 400; i++)
      short.addPending(
        pipe,
        [
          {
            event: { id: `evt_old_${i}`, tenantId: 't' } as HooklineEvent,
            deliveries: [
              { id: `dlv_old_${i}`, eventId: `evt_old_${i}`, subscriptionId: 'sub_trim', tenantId: 't' },
            ],
          },
        ],
        now - 120_000 + i,
      );
    await execAll(pipe);
    expect((await chunkKeys('sub_trim')).length).toBeGreaterThan(2);
    await fanOut('sub_trim', ['dlv_new'], now);
    const p2 = redis.pipeline();
    short.addPending(
      p2,
      [
        {
          event: { id: 'evt_new2', tenantId: 't' } as HooklineEvent,
          deliveries: [{ id: 'dlv_new2', eventId: 'evt_new2', subscriptionId: 'sub_trim', tenantId: 't' }],
        },
      ],
      now + 1,
    );
    await execAll(p2);
    expect(await store.idsForSubscription('sub_trim', { limit: 1_000 })).toEqual([
      'dlv_new2',
      String(now + 1),
      'dlv_new',
      String(now),
    ]);
    expect((await chunkKeys('sub_trim')).length).toBe(1);
  });

  it('drops an entry with its record (PostgreSQL history), and an emptied chunk from the directory', async () => {
    const drop = luaScript<string[], (string | number)[], number[]>('history-drop');
    const sub = 'sub_drop';
    const ids = Array.from({ length: 300 }, (_, i) => `dlv_d${i}`);
    await fanOut(sub, ids, Date.now());
    const before = await redis.zcard(`${keys.subDeliveries(sub)}:d`);
    expect(before).toBeGreaterThan(2);
    const kept = new Set(['dlv_d7', 'dlv_d150']);
    for (const id of ids) {
      if (kept.has(id)) continue;
      await store.setStatus(id, 'succeeded');
      const rec = await store.get(id);
      const dropped = await drop.run(
        redis,
        [
          keys.history(),
          keys.delivery(id),
          keys.deliveryAttempts(id),
          keys.subDeliveries(sub),
          keys.event('t', rec!.eventId),
        ],
        [1, 'succeeded', id, ''],
      );
      expect(dropped).toEqual([1]);
    }
    expect((await allEntries(sub)).map((e) => e.id).sort()).toEqual([...kept].sort());
    expect((await chunkKeys(sub)).length).toBeLessThanOrEqual(2);
    expect(await redis.zcard(`${keys.subDeliveries(sub)}:d`)).toBeLessThanOrEqual(2);
  });

  it('reads the sorted set of the older layout merged with the chunks until it expires', async () => {
    // 0.4 (and 0.5 before the chunks) indexed a subscription in one sorted set at its base key.
    const sub = 'sub_upgrade';
    const t0 = Date.now() - 600_000;
    const old = Array.from({ length: 200 }, (_, i) => ({ id: `dlv_older${i}`, score: t0 + i * 1_000 }));
    await redis
      .multi()
      .zadd(keys.subDeliveries(sub), ...old.flatMap((e) => [e.score, e.id]))
      .expire(keys.subDeliveries(sub), TTL)
      .exec();
    for (const e of old)
      await redis.hset(keys.delivery(e.id), {
        eventId: 'evt_old',
        subscriptionId: sub,
        tenantId: 't',
        createdAt: new Date(e.score).toISOString(),
        status: 'pending',
      });
    // New entries interleave with the old ones (and one shares an old score).
    const fresh: Entry[] = [];
    for (let i = 0; i < 150; i++) {
      const score = t0 + i * 1_333;
      await fanOut(sub, [`dlv_fresh${i}`], score);
      fresh.push({ id: `dlv_fresh${i}`, score });
    }
    const expected = [...old, ...fresh].sort(newestFirst);
    expect(await allEntries(sub)).toEqual(expected);
    expect(await scanAll(sub, 40, 'pending')).toEqual(expected.map((e) => e.id));
    // The older set is never written again: it only expires.
    expect(await redis.zcard(keys.subDeliveries(sub))).toBe(200);
  });
});
