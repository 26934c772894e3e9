// The PostgreSQL history store: the HistoryStore contract against a real server (a schema of its
// own), then what is particular to PostgreSQL: one statement per batch, records past the
// retention not written.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPgHistoryStore, type PgHistoryStore } from '../../../src/store/history/pg-history-store.js';
import { migratedSchema, type TestSchema } from '../../helpers/pg.js';
import { describeHistoryStoreContract } from './contract.js';
import { asRecord, makeDelivery, makeEvent, tag } from './fixtures.js';

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
