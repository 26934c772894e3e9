// The Redis history store: the HistoryStore contract against a real Redis (a key prefix of its
// own), records seeded the way the pipeline writes them; then what is particular to Redis.
//
// The seed uses the delivery store's own writes: addPending (event copy, message index, pending
// record, subscription index), recordAttempt per attempt (attempts, status, nextAttemptAt),
// setStatus for a status without attempts, the mark-redriven script for redrivenTo. It then sets
// what those stamp with the clock (updatedAt) or another workflow writes (supersededBy) to the
// record's values, and adds the subscription to its tenant's index as creating it would. A record
// written twice is merged first by the contract's rule (codec.ts mergeDeliveries).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../src/config.js';
import type { HooklineEvent } from '../../../src/domain/event.js';
import { isSubscriptionTarget } from '../../../src/pipeline/targets.js';
import { keyspace, type Keys } from '../../../src/redis/client.js';
import { createDeliveryStore, execAll, type DeliveryStore } from '../../../src/store/delivery-store.js';
import { REC } from '../../../src/store/delivery-layout.js';
import { mergeDeliveries } from '../../../src/store/history/codec.js';
import type {
  HistoryBatch,
  HistoryDelivery,
  HistoryStore,
} from '../../../src/store/history/history-store.js';
import { createRedisHistoryStore } from '../../../src/store/history/redis-history-store.js';
import { deleteKeys } from '../../helpers/harness.js';
import { describeHistoryStoreContract } from './contract.js';
import { makeDelivery, makeEvent, tag } from './fixtures.js';

const TTL = 7 * 86_400;

function pipelineSeed(redis: Redis, keys: Keys, deliveries: DeliveryStore, store: HistoryStore) {
  const eventKey = (tenantId: string, id: string) => `${tenantId}\n${id}`;

  async function seedDelivery(d: HistoryDelivery, event: HooklineEvent) {
    const existing = await deliveries.get(d.id);
    const r = existing ? mergeDeliveries({ ...existing, eventType: d.eventType }, d) : d;
    const created = Date.parse(r.createdAt);
    const pipe = redis.pipeline();
    if (isSubscriptionTarget(r.subscriptionId))
      pipe.zadd(keys.tenantSubs(r.tenantId), 'NX', created, r.subscriptionId);
    deliveries.addPending(
      pipe,
      [
        {
          event,
          deliveries: [
            {
              id: r.id,
              eventId: r.eventId,
              subscriptionId: r.subscriptionId,
              tenantId: r.tenantId,
              target: r.target,
              series: r.series,
              retryOf: r.retryOf,
            },
          ],
        },
      ],
      created,
    );
    pipe.hdel(keys.delivery(r.id), REC.attempts); // written again whole, merged
    await execAll(pipe);
    const next = r.nextAttemptAt ? Date.parse(r.nextAttemptAt) : null;
    const ref = { tenantId: r.tenantId, id: r.eventId };
    await Promise.all(r.attempts.map((a) => deliveries.recordAttempt(r.id, ref, a, r.status, next)));
    if (r.attempts.length === 0) await deliveries.setStatus(r.id, r.status, next);
    // The compact layout (delivery-layout.ts REC): updatedAt as ms after the creation.
    const fix = redis.pipeline().hset(keys.delivery(r.id), REC.updatedAt, Date.parse(r.updatedAt) - created);
    if (r.supersededBy) fix.hset(keys.delivery(r.id), REC.supersededBy, r.supersededBy);
    await execAll(fix);
    if (r.redrivenTo) await store.markRedriven(r.id, r.redrivenTo);
  }

  return async (batch: HistoryBatch) => {
    // Events are immutable: one stored already stays as it is.
    const events = new Map<string, HooklineEvent>();
    for (const e of batch.events ?? []) {
      const k = eventKey(e.tenantId, e.id);
      if (!events.has(k)) events.set(k, (await deliveries.getEvent(e.tenantId, e.id)) ?? e);
    }
    const pipe = redis.pipeline();
    for (const e of events.values())
      deliveries.addPending(pipe, [{ event: e, deliveries: [] }], e.acceptedAt);
    await execAll(pipe);
    // One by one: a delivery twice in a batch merges with its earlier write.
    for (const d of batch.deliveries ?? []) {
      const event =
        events.get(eventKey(d.tenantId, d.eventId)) ?? (await deliveries.getEvent(d.tenantId, d.eventId));
      if (!event) throw new Error(`seed: delivery ${d.id} needs its event ${d.eventId} written first`);
      await seedDelivery(d, event);
    }
  };
}

async function redisSubject() {
  const config = testConfig();
  const keys = keyspace(config.REDIS_PREFIX);
  const redis = new Redis(config.REDIS_URL);
  const deliveries = createDeliveryStore(redis, keys, TTL);
  const store = createRedisHistoryStore(redis, keys, deliveries);
  return {
    redis,
    keys,
    deliveries,
    store,
    seed: pipelineSeed(redis, keys, deliveries, store),
    eventListNeedsMessageId: true,
    async close() {
      await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
      redis.disconnect();
    },
  };
}

describeHistoryStoreContract('Redis', redisSubject);

describe('Redis history store', () => {
  let s: Awaited<ReturnType<typeof redisSubject>>;
  beforeAll(async () => {
    s = await redisSubject();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('serves every filter but eventType (deliveries) and type, since, until (events)', () => {
    const all = {
      deliveries: ['subscriptionId', 'eventId', 'messageId', 'eventType', 'status', 'since', 'until'],
      events: ['messageId', 'type', 'since', 'until'],
    } as const;
    expect(all.deliveries.filter((f) => !s.store.filters.deliveries.has(f))).toEqual(['eventType']);
    expect(all.events.filter((f) => !s.store.filters.events.has(f))).toEqual(['type', 'since', 'until']);
  });

  it('refuses the filters it does not serve with unsupported_filter, naming each', async () => {
    const refused = (filter: string) => ({ code: 'unsupported_filter', extra: { filter } });
    await expect(
      s.store.listDeliveries({ tenantId: 't', limit: 5, eventType: 'message.read' }),
    ).rejects.toMatchObject(refused('eventType'));
    for (const [name, value] of [
      ['type', 'message.read'],
      ['since', 1],
      ['until', 1],
    ] as const)
      await expect(
        s.store.listEvents({ tenantId: 't', limit: 5, messageId: 'm', [name]: value }),
      ).rejects.toMatchObject(refused(name));
    await expect(s.store.listEvents({ tenantId: 't', limit: 5 })).rejects.toMatchObject(
      refused('a listing without messageId'),
    );
  });

  it('is written by the pipeline, not through write', async () => {
    await expect(s.store.write({ events: [makeEvent(`t-${tag()}`, Date.now())] })).rejects.toThrow(
      /written by the pipeline/,
    );
  });

  it('lists a tenant across every subscription it ever had, not the shared report index', async () => {
    const tenant = `t-${tag()}`;
    const event = makeEvent(tenant, Date.now() - 60_000, {
      deliveryReport: { webhookUrl: 'https://report.example/hook' },
    });
    const sub = makeDelivery(event, `sub_${tag()}`);
    const report = makeDelivery(event, 'report', { target: 'deliveryReport' });
    await s.seed({ events: [event], deliveries: [sub, report] });
    const page = await s.store.listDeliveries({ tenantId: tenant, limit: 10 });
    expect(page.data.map((r) => r.id)).toEqual([sub.id]);
    const byEvent = await s.store.listDeliveries({ tenantId: tenant, limit: 10, eventId: event.id });
    expect(byEvent.data.map((r) => r.id).sort()).toEqual([sub.id, report.id].sort());
  });
});
