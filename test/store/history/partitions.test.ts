// Day partitions against a real server: made ahead of need and on demand, dropped whole at the
// end of the retention (the rows go with their table, never by DELETE), safe when several
// processes run the maintenance at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DAY_MS,
  dayOf,
  HISTORY_TABLES,
  maintainPartitions,
  partitionName,
} from '../../../src/store/history/partitions.js';
import { createPgHistoryStore } from '../../../src/store/history/pg-history-store.js';
import { migratedSchema, type TestSchema } from '../../helpers/pg.js';
import { makeDelivery, makeEvent, tag } from './fixtures.js';

let db: TestSchema;
beforeAll(async () => {
  db = await migratedSchema();
});
afterAll(async () => {
  await db?.drop();
});

async function partitions(table: string): Promise<string[]> {
  const { rows } = await db.pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = to_regclass($1) ORDER BY 1`,
    [table],
  );
  return rows.map((r) => r.name);
}

const count = async (sql: string, values: unknown[] = []) =>
  (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, values)).rows[0]!.n;

describe('history partitions', () => {
  it('makes a partition per day from the oldest kept to a few days ahead, once, even run concurrently', async () => {
    const now = Date.now();
    const results = await Promise.all(
      Array.from({ length: 4 }, () => maintainPartitions(db.pool, { retentionDays: 7, aheadDays: 2, now })),
    );
    const created = results.flatMap((r) => r.created);
    const today = dayOf(now);
    const days = Array.from({ length: 10 }, (_, i) => today - 7 + i);
    for (const table of HISTORY_TABLES) {
      expect(await partitions(table)).toEqual(days.map((d) => partitionName(table, d)));
    }
    expect(created.sort()).toEqual(
      HISTORY_TABLES.flatMap((t) => days.map((d) => partitionName(t, d))).sort(),
    );
    expect(results.every((r) => r.dropped.length === 0)).toBe(true);
    // Again: nothing to do.
    expect(await maintainPartitions(db.pool, { retentionDays: 7, now })).toMatchObject({
      created: [],
      dropped: [],
    });
  });

  it('drops a day whole once its last record is past the retention, and keeps every other row', async () => {
    const now = Date.now();
    await maintainPartitions(db.pool, { retentionDays: 7, now });
    const store = createPgHistoryStore(db.pool, { retentionDays: 7 });
    const tenant = `t-${tag()}`;
    const ages = [6.5, 4, 1]; // days
    const events = ages.map((age) => makeEvent(tenant, Math.round(now - age * DAY_MS)));
    await store.write({ events, deliveries: events.map((e) => makeDelivery(e, 'sub_p')) });
    const oldDay = dayOf(events[0]!.acceptedAt);
    expect(await count(partitionName('deliveries', oldDay))).toBe(1);

    // Two days later the 6.5-day-old records have been past the retention for a day and a half.
    const later = await maintainPartitions(db.pool, { retentionDays: 7, now: now + 2 * DAY_MS });
    const gone = [dayOf(now - 7 * DAY_MS), dayOf(now - 6 * DAY_MS)];
    expect(gone).toContain(oldDay);
    expect(later.dropped.sort()).toEqual(
      HISTORY_TABLES.flatMap((t) => gone.map((d) => partitionName(t, d))).sort(),
    );
    for (const table of HISTORY_TABLES) {
      const { rows } = await db.pool.query(`SELECT to_regclass($1) AS t`, [partitionName(table, oldDay)]);
      expect(rows[0].t).toBeNull();
    }
    const left = await store.listDeliveries({ tenantId: tenant, limit: 10 });
    expect(left.data.map((d) => d.eventId)).toEqual([events[2]!.id, events[1]!.id]);
    expect(await count('events WHERE created_at < $1', [new Date(now - 6 * DAY_MS)])).toBe(0);
  });

  it('makes a missing day on demand when writing, also one another process dropped meanwhile', async () => {
    const store = createPgHistoryStore(db.pool, { retentionDays: 7 });
    const tenant = `t-${tag()}`;
    // Far enough ahead that no maintenance made it.
    const future = makeEvent(tenant, Date.now() + 20 * DAY_MS);
    await store.write({ events: [future], deliveries: [makeDelivery(future, 'sub_f')] });
    const day = dayOf(future.acceptedAt);
    expect(await partitions('deliveries')).toContain(partitionName('deliveries', day));

    for (const table of HISTORY_TABLES) await db.pool.query(`DROP TABLE ${partitionName(table, day)}`);
    const again = makeEvent(tenant, future.acceptedAt + 1);
    await store.write({ events: [again], deliveries: [makeDelivery(again, 'sub_f')] });
    const page = await store.listDeliveries({ tenantId: tenant, limit: 10 });
    expect(page.data.map((d) => d.eventId)).toEqual([again.id]);
  });
});
