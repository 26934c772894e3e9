// The subscription store on real Redis: secrets sealed at rest, URL claims, soft delete and
// restore, secret rotation with expiry, cursor pagination.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox } from '../../src/crypto.js';
import { keyspace } from '../../src/redis/client.js';
import { createSubscriptionStore, type SubscriptionStore } from '../../src/store/subscription-store.js';
import { deleteKeys } from '../helpers/harness.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `{hl-test-${randomBytes(6).toString('hex')}}`;
const keys = keyspace(prefix);
let redis: Redis;
let store: SubscriptionStore;
let n = 0;
const input = (extra: Record<string, unknown> = {}) => ({
  webhookUrl: `https://example.test/${++n}`,
  events: ['*' as const],
  ...extra,
});

beforeAll(() => {
  redis = new Redis(url);
  store = createSubscriptionStore(redis, keys, createSecretBox(randomBytes(32).toString('base64')));
});
afterAll(async () => {
  redis.disconnect();
  await deleteKeys(url, prefix);
});

describe('subscription store', () => {
  it('seals every secret field and the signing secret; reads them back in clear', async () => {
    const sub = await store.create(
      't',
      input({ authType: 'bearer', bearer: { token: 'store-bearer-token' } }),
    );
    const raw = (await redis.get(keys.sub(sub.id)))!;
    expect(raw).not.toContain('store-bearer-token');
    expect(raw).not.toContain(sub.signingSecrets[0]!.secret);
    expect((await store.get(sub.id))?.bearer?.token).toBe('store-bearer-token');
  });

  it('build does not save; insert claims the URL (409 for a second claim)', async () => {
    const draft = store.build('t', input());
    expect(await store.get(draft.id)).toBeUndefined();
    await store.insert(draft);
    const twin = store.build('t', { ...input(), webhookUrl: draft.webhookUrl });
    await expect(store.insert(twin)).rejects.toMatchObject({ code: 'conflict' });
    expect(await store.get(twin.id)).toBeUndefined();
  });

  it('soft delete keeps the record and frees the URL; restore reclaims it or answers 409', async () => {
    const sub = await store.create('t', input());
    await store.softDelete(sub);
    expect((await store.get(sub.id))?.deletedAt).toBeTruthy();
    await expect(store.getVisible(sub.id)).rejects.toMatchObject({ code: 'not_found' });
    expect((await store.listTenant('t')).map((s) => s.id)).not.toContain(sub.id);
    const restored = await store.restore(sub.id, 't');
    expect(restored.deletedAt).toBeUndefined();
    expect((await store.restore(sub.id)).id).toBe(sub.id); // live: returned as is
    await expect(store.restore(sub.id, 'other')).rejects.toMatchObject({ code: 'not_found' });

    await store.softDelete(restored);
    await store.create('t', { ...input(), webhookUrl: sub.webhookUrl });
    await expect(store.restore(sub.id)).rejects.toMatchObject({ code: 'conflict' });
    expect((await store.get(sub.id))?.deletedAt).toBeTruthy();
  });

  it('rotateSecret keeps the previous secret until the grace period ends, dropping expired ones', async () => {
    const sub = await store.create('t', input());
    const first = sub.signingSecrets[0]!.secret;
    const before = Date.now();
    const once = (await store.rotateSecret(sub.id, 60_000))!;
    expect(once.signingSecrets).toHaveLength(2);
    expect(once.signingSecrets[0]!.expiresAt).toBeUndefined();
    expect(once.signingSecrets[1]!.secret).toBe(first);
    expect(once.signingSecrets[1]!.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
    const twice = (await store.rotateSecret(sub.id, 0))!;
    // The grace-0 secret expires now and is dropped; the first one still has its minute.
    expect(twice.signingSecrets.map((s) => s.secret)).toEqual([twice.signingSecrets[0]!.secret, first]);
  });

  it('pages with a cursor and refuses a forged one', async () => {
    const created: { id: string; createdAt: string }[] = [];
    for (let i = 0; i < 5; i++) created.push(await store.create('pager', input()));
    // Listed oldest first; subscriptions created in the same millisecond come in id order.
    const ids = created
      .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.id < b.id ? -1 : 1))
      .map((s) => s.id);
    const p1 = await store.list({ tenantId: 'pager', limit: 3 });
    expect(p1.data.map((s) => s.id)).toEqual(ids.slice(0, 3));
    const p2 = await store.list({ tenantId: 'pager', limit: 3, cursor: p1.nextCursor! });
    expect(p2.data.map((s) => s.id)).toEqual(ids.slice(3));
    expect(p2.nextCursor).toBeNull();
    await expect(store.list({ tenantId: 'pager', limit: 3, cursor: 'garbage' })).rejects.toMatchObject({
      code: 'validation_error',
    });
  });
});
