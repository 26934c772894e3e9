// The PostgreSQL history store: the HistoryStore contract against a real server (a schema of its
// own), then what is particular to PostgreSQL: one statement per batch, records past the
// retention not written.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { intArray, textArray } from '../../../src/store/history/pg-array.js';
import { createPgHistoryStore, type PgHistoryStore } from '../../../src/store/history/pg-history-store.js';
import { migratedSchema, type TestSchema } from '../../helpers/pg.js';
import { describeHistoryStoreContract } from './contract.js';
import { asRecord, makeAttempt, makeDelivery, makeEvent, tag } from './fixtures.js';

describeHistoryStoreContract('PostgreSQL', async () => {
  const db = await migratedSchema();
  return { store: createPgHistoryStore(db.pool, { retentionDays: 7 }), close: () => db.drop() };
});

describe('PostgreSQL history store', () => {
  let db: TestSchema;
  let store: PgHistoryStore;
  beforeAll(async () => {
    db = await migratedSchema();
    store = createPgHistoryStore(db.pool, { retentionDays: 7 });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('writes a batch of events and deliveries in one statement once names and partitions are known', async () => {
    const tenants = [`t-${tag()}`, `t-${tag()}`];
    const batch = (n: number) => {
      const events = Array.from({ length: n }, (_, i) => makeEvent(tenants[i % 2]!, Date.now() - 1000 - i));
      return {
        events,
        deliveries: events.flatMap((e) => [makeDelivery(e, 'sub_1'), makeDelivery(e, 'sub_2')]),
      };
    };
    await store.write(batch(2)); // learns the names and the day's partition
    const query = vi.spyOn(db.pool, 'query');
    const connect = vi.spyOn(db.pool, 'connect');
    const big = batch(250);
    await store.write(big);
    // One statement, and no other connection checked out (pool.query checks out one itself).
    expect(query).toHaveBeenCalledTimes(1);
    expect(connect).toHaveBeenCalledTimes(1);
    query.mockRestore();
    connect.mockRestore();
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM deliveries`);
    expect(rows[0].n).toBe(504);
    expect(await store.getDelivery(big.deliveries[499]!.id)).toEqual(asRecord(big.deliveries[499]!));
  });

  it('keeps every character of what it writes: quotes, backslashes, braces, commas, NULL, newlines', async () => {
    // Each column goes as an array parameter (unnest): anything array-literal syntax gives a
    // meaning to must come back as it was sent.
    const odd = [
      'a"b',
      'back\\slash\\',
      '{x,y}',
      'NULL',
      '',
      ' lead and trail ',
      'line\nbreak\ttab',
      'é ✓ 🚀',
    ];
    const tenant = `t-${tag()} {"odd", \\ tenant}`;
    const event = makeEvent(tenant, Date.now() - 1000, {
      messageId: 'NULL',
      data: Object.fromEntries(odd.map((v, i) => [`k${i}${v}`, v])),
    });
    const delivery = makeDelivery(event, 'sub_"quoted",{1}', {
      attempts: [
        makeAttempt(1, event.acceptedAt + 10, {
          statusCode: 500,
          responseBody: odd.join('|'),
          responseHeaders: { 'x-odd': 'a "quoted" \\ value, {braced}' },
        }),
      ],
      status: 'failed',
    });
    const plain = makeEvent(tenant, Date.now() - 900, { messageId: undefined });
    await store.write({ events: [event, plain], deliveries: [delivery] });
    expect(await store.getDelivery(delivery.id)).toEqual(asRecord(delivery));
    const stored = await store.getEvent(tenant, event.id);
    expect(stored?.event).toEqual(event);
    expect((await store.getEvent(tenant, plain.id))?.event).toEqual(plain);
    const byMessage = await store.listDeliveries({ tenantId: tenant, messageId: 'NULL', limit: 10 });
    expect(byMessage.data.map((d) => d.id)).toEqual([delivery.id]);
  });

  it('builds array literals PostgreSQL reads back element for element', async () => {
    const texts = [
      'a"b',
      'back\\slash\\',
      '\\"',
      '{x,y}',
      'NULL',
      null,
      '',
      ' sp ',
      'nl\n\ttab',
      'é ✓ 🚀',
      '"',
    ];
    const { rows } = await db.pool.query<{ t: string[]; i: number[]; e: string[] }>(
      'SELECT $1::text[] AS t, $2::int[] AS i, $3::text[] AS e',
      [textArray(texts), intArray([0, -1, 2147483647]), textArray([])],
    );
    expect(rows[0]!.t).toEqual(texts);
    expect(rows[0]!.i).toEqual([0, -1, 2147483647]);
    expect(rows[0]!.e).toEqual([]);
  });

  it('does not write records older than the retention (their partition is gone or about to be)', async () => {
    const tenant = `t-${tag()}`;
    const old = makeEvent(tenant, Date.now() - 9 * 86_400_000);
    const recent = makeEvent(tenant, Date.now() - 1000);
    await store.write({
      events: [old, recent],
      deliveries: [makeDelivery(old, 'sub_old'), makeDelivery(recent, 'sub_new')],
    });
    const page = await store.listDeliveries({ tenantId: tenant, limit: 10 });
    expect(page.data.map((d) => d.subscriptionId)).toEqual(['sub_new']);
    expect((await store.listEvents({ tenantId: tenant, limit: 10 })).data.map((e) => e.id)).toEqual([
      recent.id,
    ]);
  });
});
