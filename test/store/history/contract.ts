// The HistoryStore contract, one suite for every implementation: a test file calls
// describeHistoryStoreContract with a factory for its store. Filters a store does not serve
// (store.filters) are skipped here; the route answers them with unsupported_filter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HooklineEvent } from '../../../src/domain/event.js';
import type { DeliveryRecord } from '../../../src/store/delivery-store.js';
import type {
  DeliveryFilter,
  DeliveryQuery,
  EventQuery,
  HistoryBatch,
  HistoryDelivery,
  HistoryStore,
  Page,
} from '../../../src/store/history/history-store.js';
import { asRecord, iso, makeAttempt, makeDelivery, makeEvent, tag } from './fixtures.js';

export interface ContractSubject {
  store: HistoryStore;
  /**
   * How records get into the store under test. Default: store.write. A store filled another way
   * (Redis, by the pipeline) passes its own, with the same rule for a record written twice.
   */
  seed?: (batch: HistoryBatch) => Promise<void>;
  /**
   * The store lists events only by messageId (Redis keeps no per-tenant event index): a listing
   * without one is refused with unsupported_filter. Default false.
   */
  eventListNeedsMessageId?: boolean;
  close(): Promise<void>;
}

/** Every page of a list, following cursors. */
async function allPages<T>(list: (cursor?: string) => Promise<Page<T>>): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const page = await list(cursor);
    pages.push(page.data);
    cursor = page.nextCursor ?? undefined;
    if (pages.length > 100) throw new Error('cursor never ends');
  } while (cursor);
  return pages;
}

const byNewest = (a: DeliveryRecord, b: DeliveryRecord) =>
  Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : -1);

export function describeHistoryStoreContract(name: string, factory: () => Promise<ContractSubject>): void {
  describe(`HistoryStore contract: ${name}`, () => {
    let subject: ContractSubject;
    let store: HistoryStore;
    let write: (batch: HistoryBatch) => Promise<void>;
    beforeAll(async () => {
      subject = await factory();
      store = subject.store;
      write = subject.seed ?? ((batch) => store.write(batch));
    });
    afterAll(async () => {
      await subject?.close();
    });

    // Within the retention of every store under test.
    const base = () => Date.now() - 3_600_000;

    it('reads a delivery back as written, attempts and rare fields included, within its tenant only', async () => {
      const tenant = `t-${tag()}`;
      const event = makeEvent(tenant, base());
      const created = event.acceptedAt + 5;
      const failed = makeAttempt(1, created + 1, {
        statusCode: null,
        error: { code: 'timeout', message: 'no response within 5000 ms' },
        responseHeaders: {},
        responseBody: '',
      });
      const second = makeAttempt(2, created + 20_000, {
        statusCode: 503,
        error: { code: 'http_error', message: 'subscriber answered 503' },
        responseHeaders: { 'retry-after': '30', 'x-odd': 'a "quoted" \\ value' },
        responseBody: 'down \u0000 for maintenance ✓',
      });
      const delivery = makeDelivery(event, 'report', {
        target: 'deliveryReport',
        status: 'retrying',
        nextAttemptAt: iso(created + 60_000),
        series: 2,
        retryOf: 'dlv_previous',
        attempts: [failed, second],
        createdAt: iso(created),
        updatedAt: iso(created + 20_100),
      });
      await write({ events: [event], deliveries: [delivery] });

      expect(await store.getDelivery(delivery.id)).toEqual(asRecord(delivery));
      expect(await store.getDelivery(delivery.id, tenant)).toEqual(asRecord(delivery));
      expect(await store.getDelivery(delivery.id, `${tenant}-other`)).toBeUndefined();
      expect(await store.getDelivery(`dlv_${tag()}`)).toBeUndefined();
    });

    it('keeps the latest state of a delivery written twice, and each attempt once', async () => {
      const event = makeEvent(`t-${tag()}`, base());
      const created = event.acceptedAt + 3;
      const first = makeAttempt(1, created + 10, {
        statusCode: 500,
        error: { code: 'http_error', message: '500' },
      });
      const retrying = makeDelivery(event, 'sub_a', {
        status: 'retrying',
        nextAttemptAt: iso(created + 10_000),
        attempts: [first],
        updatedAt: iso(created + 30),
      });
      const done = makeDelivery(event, 'sub_a', {
        status: 'succeeded',
        attempts: [first, makeAttempt(2, created + 10_010)],
        updatedAt: iso(created + 10_050),
      });
      await write({ events: [event], deliveries: [retrying] });
      await write({ deliveries: [done] });
      // A re-run after a crash writes the older state again: it changes nothing.
      await write({ events: [event], deliveries: [retrying] });
      expect(await store.getDelivery(done.id)).toEqual(asRecord(done));

      // Both states in one batch, in either order, end the same.
      const other = makeEvent(event.tenantId, base());
      const a = { ...retrying, id: `${retrying.id}x`, eventId: other.id };
      const b = { ...done, id: a.id, eventId: other.id };
      await write({ events: [other], deliveries: [b, a] });
      expect(await store.getDelivery(a.id)).toEqual(asRecord(b));
    });

    it('keeps redrivenTo once set, as markRedriven does', async () => {
      const event = makeEvent(`t-${tag()}`, base());
      const delivery = makeDelivery(event, 'sub_r', { status: 'failed' });
      await write({ events: [event], deliveries: [delivery] });
      expect(await store.markRedriven(delivery.id, 'dlv_next')).toBe(true);
      expect(await store.markRedriven(delivery.id, 'dlv_other')).toBe(false);
      await write({
        deliveries: [{ ...delivery, updatedAt: iso(Date.parse(delivery.updatedAt) + 1) }],
      });
      expect((await store.getDelivery(delivery.id))?.redrivenTo).toBe('dlv_next');
      expect(await store.markRedriven(`dlv_${tag()}`, 'dlv_next')).toBe(false);
    });

    it('lists deliveries newest first, pages by cursor with no gap or repeat (ties on time included)', async () => {
      const tenant = `t-${tag()}`;
      const t0 = base();
      const events = Array.from({ length: 7 }, (_, i) => makeEvent(tenant, t0 + (i < 4 ? 0 : i * 1000)));
      const deliveries = events.map((e, i) =>
        // Four created in the same millisecond: the id orders them.
        makeDelivery(e, `sub_${i % 2}`, { createdAt: iso(i < 4 ? t0 + 7 : e.acceptedAt + 3) }),
      );
      await write({ events, deliveries });
      const expected = deliveries.map(asRecord).sort(byNewest);

      for (const limit of [1, 2, 3, 7, 250]) {
        const pages = await allPages((cursor) => store.listDeliveries({ tenantId: tenant, limit, cursor }));
        expect(pages.flat().map((d) => d.id)).toEqual(expected.map((d) => d.id));
        expect(pages.slice(0, -1).every((p) => p.length === limit)).toBe(true);
      }
      const [first] = await allPages((cursor) =>
        store.listDeliveries({ tenantId: tenant, limit: 250, cursor }),
      );
      expect(first).toEqual(expected);
      const light = await store.listDeliveries({ tenantId: tenant, limit: 1, withAttempts: false });
      expect(light.data[0]).toEqual({ ...expected[0], attempts: [] });
      expect((await store.listDeliveries({ tenantId: `${tenant}-other`, limit: 10 })).data).toEqual([]);
    });

    describe('delivery filters', () => {
      const tenant = `t-${tag()}`;
      const other = `t-${tag()}`;
      let t0: number;
      let e1: HooklineEvent, e2: HooklineEvent, e3: HooklineEvent;
      let d: Record<string, HistoryDelivery>;
      beforeAll(async () => {
        t0 = base();
        e1 = makeEvent(tenant, t0, { messageId: 'msg-shared' });
        e2 = makeEvent(tenant, t0 + 10_000, { type: 'message.failed', messageId: 'msg-2' });
        // Another tenant uses the same message id and event id: neither may show.
        e3 = makeEvent(other, t0 + 20_000, { id: e1.id, messageId: 'msg-shared' });
        d = {
          a: makeDelivery(e1, 'sub_a'),
          b: makeDelivery(e1, 'sub_b', { status: 'failed' }),
          c: makeDelivery(e2, 'sub_a', { status: 'cancelled', attempts: [] }),
          redrive: makeDelivery(e1, 'sub_b', { series: 1, retryOf: '', createdAt: iso(t0 + 30_000) }),
          x: makeDelivery(e3, 'sub_x'),
        };
        d.redrive!.retryOf = d.b!.id;
        await write({ events: [e1, e2, e3], deliveries: Object.values(d) });
      });

      const ids = async (q: Omit<DeliveryQuery, 'tenantId' | 'limit'>) =>
        (await allPages((cursor) => store.listDeliveries({ tenantId: tenant, limit: 2, ...q, cursor })))
          .flat()
          .map((r) => r.id);
      const cases: [DeliveryFilter, () => Omit<DeliveryQuery, 'tenantId' | 'limit'>, () => string[]][] = [
        ['subscriptionId', () => ({ subscriptionId: 'sub_a' }), () => [d.c!.id, d.a!.id]],
        ['eventId', () => ({ eventId: e1.id }), () => [d.redrive!.id, d.b!.id, d.a!.id].sort(byId(d))],
        [
          'messageId',
          () => ({ messageId: 'msg-shared' }),
          () => [d.redrive!.id, d.b!.id, d.a!.id].sort(byId(d)),
        ],
        ['eventType', () => ({ eventType: 'message.failed' }), () => [d.c!.id]],
        ['status', () => ({ status: 'failed' }), () => [d.b!.id]],
        ['since', () => ({ since: t0 + 10_003 }), () => [d.redrive!.id, d.c!.id]],
        ['until', () => ({ until: t0 + 10_003 }), () => [d.c!.id, d.b!.id, d.a!.id].sort(byId(d))],
      ];
      for (const [filter, query, expected] of cases) {
        it(`by ${filter}`, async (ctx) => {
          if (!store.filters.deliveries.has(filter)) return ctx.skip();
          expect(await ids(query())).toEqual(expected());
        });
      }

      it('by several filters at once', async (ctx) => {
        if (
          !['subscriptionId', 'status', 'since'].every((f) =>
            store.filters.deliveries.has(f as DeliveryFilter),
          )
        )
          return ctx.skip();
        expect(await ids({ subscriptionId: 'sub_b', status: 'succeeded', since: t0 })).toEqual([
          d.redrive!.id,
        ]);
        expect(await ids({ subscriptionId: 'sub_b', status: 'cancelled' })).toEqual([]);
        expect(await ids({ subscriptionId: 'sub_unknown' })).toEqual([]);
        if (store.filters.deliveries.has('eventType'))
          expect(await ids({ eventType: 'auth.success' })).toEqual([]);
      });

      it('shows an event with its deliveries, oldest first, within its tenant', async () => {
        const found = await store.getEvent(tenant, e1.id);
        expect(found?.event).toEqual(e1);
        expect(found?.deliveries.map((r) => r.id)).toEqual(
          [d.a!.id, d.b!.id, d.redrive!.id].sort(byId(d)).reverse(),
        );
        expect(found?.deliveries.find((r) => r.id === d.b!.id)).toEqual(asRecord(d.b!));
        const theirs = await store.getEvent(other, e1.id);
        expect(theirs?.event).toEqual(e3);
        expect(theirs?.deliveries.map((r) => r.id)).toEqual([d.x!.id]);
        expect(await store.getEvent(`${tenant}-nobody`, e1.id)).toBeUndefined();
        expect(await store.getEvent(tenant, `evt_${tag()}`)).toBeUndefined();
      });
    });

    it('lists events newest first, with filters and cursor', async () => {
      const tenant = `t-${tag()}`;
      const t0 = base();
      const events = Array.from({ length: 5 }, (_, i) =>
        makeEvent(tenant, t0 + i * 1000, {
          type: i % 2 ? 'message.read' : 'message.delivered',
          messageId: i < 2 ? 'msg-one' : `msg-${i}`,
        }),
      );
      // Auth events have no message id; one event kept exactly as given.
      events.push(
        makeEvent(tenant, t0 + 9000, { type: 'auth.success', messageId: undefined, channel: undefined }),
      );
      delete events[5]!.messageId;
      delete events[5]!.channel;
      await write({ events });
      const list = async (q: Omit<EventQuery, 'tenantId' | 'limit'>) =>
        (await allPages((cursor) => store.listEvents({ tenantId: tenant, limit: 2, ...q, cursor }))).flat();
      const newest = [...events].reverse();
      if (subject.eventListNeedsMessageId)
        await expect(store.listEvents({ tenantId: tenant, limit: 2 })).rejects.toMatchObject({
          code: 'unsupported_filter',
        });
      else expect(await list({})).toEqual(newest);
      const f = store.filters.events;
      if (f.has('messageId')) {
        expect(await list({ messageId: 'msg-one' })).toEqual([events[1], events[0]]);
        const byOne = await allPages((cursor) =>
          store.listEvents({ tenantId: tenant, limit: 1, messageId: 'msg-one', cursor }),
        );
        expect(byOne.flat()).toEqual([events[1], events[0]]);
      }
      if (f.has('type')) expect(await list({ type: 'message.read' })).toEqual([events[3], events[1]]);
      if (f.has('since') && f.has('until'))
        expect(await list({ since: t0 + 1000, until: t0 + 3000 })).toEqual([events[3], events[2], events[1]]);
      expect(await list({ messageId: 'msg-none' })).toEqual([]);
      const theirs = subject.eventListNeedsMessageId ? { messageId: 'msg-one' } : {};
      expect((await store.listEvents({ tenantId: `${tenant}-x`, limit: 5, ...theirs })).data).toEqual([]);
    });

    it('refuses a cursor it did not make with a validation_error', async () => {
      const bad = Buffer.from('not a cursor').toString('base64url');
      await expect(store.listDeliveries({ tenantId: 't', limit: 5, cursor: bad })).rejects.toMatchObject({
        code: 'validation_error',
        errors: [{ path: '/querystring/cursor' }],
      });
      await expect(store.listEvents({ tenantId: 't', limit: 5, cursor: 'x' })).rejects.toMatchObject({
        code: 'validation_error',
      });
    });
  });
}

/** Newest first among the fixture's deliveries (by their createdAt, then id). */
function byId(d: Record<string, HistoryDelivery>) {
  const created = new Map(Object.values(d).map((r) => [r.id, Date.parse(r.createdAt)]));
  return (a: string, b: string) => created.get(b)! - created.get(a)! || (a < b ? 1 : -1);
}
