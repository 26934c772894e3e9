// Message status marks in the delivery store against real Redis: a succeeded status raises its
// destination's level and never lowers it, the mark expires with the retention, and only a
// delivery still pending or retrying is ended `superseded` by it.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import type { HooklineEvent } from '../../src/domain/event.js';
import { keyspace } from '../../src/redis/client.js';
import {
  createDeliveryStore,
  execAll,
  type Attempt,
  type DeliveryStore,
} from '../../src/store/delivery-store.js';
import { deleteKeys } from '../helpers/harness.js';

const TTL = 3600;
const config = testConfig();
const keys = keyspace(config.REDIS_PREFIX);
let redis: Redis;
let store: DeliveryStore;

beforeAll(() => {
  redis = new Redis(config.REDIS_URL);
  store = createDeliveryStore(redis, keys, TTL);
});
afterAll(async () => {
  await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
  redis.disconnect();
});

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
    const key = keys.messageStatus('t', 'm1');
    // The mark, beside the message's event index (fields `e:<event id>`, the Redis history's).
    const fields = await redis.hgetall(key);
    expect(Object.fromEntries(Object.entries(fields).filter(([f]) => !f.startsWith('e:')))).toEqual({
      sub_a: '3:dlv_read',
    });
    expect(
      Object.keys(fields)
        .filter((f) => f.startsWith('e:'))
        .sort(),
    ).toEqual([`e:${read.id}`, `e:${delivered.id}`].sort());
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(TTL - 10);
    expect(ttl).toBeLessThanOrEqual(TTL);
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
