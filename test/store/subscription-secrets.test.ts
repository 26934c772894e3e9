// Subscription secrets at rest, bound to their place: each ciphertext decrypts only as the field
// of the subscription (and tenant) it was written for. One that does not decrypt is read as
// unreadable, flagged, never decrypted elsewhere, and written back unchanged; 0.3's enc:v1:
// values are read and stored as enc:v2: on the next save.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox, isUnreadable } from '../../src/crypto.js';
import type { Subscription } from '../../src/domain/subscription.js';
import { keyspace } from '../../src/redis/client.js';
import {
  createSubscriptionStore,
  mapSecrets,
  type SubscriptionStore,
} from '../../src/store/subscription-store.js';
import { deleteKeys } from '../helpers/harness.js';
import { sealV1 } from '../helpers/legacy.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `{hl-test-${randomBytes(6).toString('hex')}}`;
const keys = keyspace(prefix);
const key = randomBytes(32).toString('base64');
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
  store = createSubscriptionStore(redis, keys, createSecretBox(key));
});
afterAll(async () => {
  redis.disconnect();
  await deleteKeys(url, prefix);
});

const raw = async (id: string) => JSON.parse((await redis.get(keys.sub(id)))!) as Subscription;
const writeRaw = (sub: Subscription) => redis.set(keys.sub(sub.id), JSON.stringify(sub));

describe('subscription secrets at rest', () => {
  it('a ciphertext moved to another tenant, subscription or field does not decrypt there', async () => {
    const a = await store.create('tenant-a', input({ authType: 'bearer', bearer: { token: 'token-of-a' } }));
    const b = await store.create(
      'tenant-b',
      input({ authType: 'basic', basic: { username: 'u', password: 'password-of-b' } }),
    );
    const c = await store.create('tenant-a', input({ authType: 'bearer', bearer: { token: 'token-of-c' } }));
    const storedA = await raw(a.id);
    expect(storedA.bearer!.token).toMatch(/^enc:v2:/);

    // A's token as B's password (another tenant), as C's token (same tenant, another
    // subscription), and as A's own signing secret (another field).
    const movedB = await raw(b.id);
    movedB.basic!.password = storedA.bearer!.token;
    const movedC = await raw(c.id);
    movedC.bearer!.token = storedA.bearer!.token;
    const movedA = { ...storedA, signingSecrets: [{ secret: storedA.bearer!.token }] };
    await Promise.all([writeRaw(movedB), writeRaw(movedC), writeRaw(movedA)]);

    const [readB, readC, readA] = await Promise.all([store.get(b.id), store.get(c.id), store.get(a.id)]);
    expect(readB!.unreadableSecrets).toEqual(['/basic/password']);
    expect(isUnreadable(readB!.basic!.password)).toBe(true);
    expect(readC!.unreadableSecrets).toEqual(['/bearer/token']);
    expect(readA!.unreadableSecrets).toEqual(['/signingSecrets/0/secret']);
    // Nothing else was lost: the readable fields read as before.
    expect(readA!.bearer!.token).toBe('token-of-a');
    expect(readB!.basic!.username).toBe('u');
    for (const s of [readB, readC]) expect(JSON.stringify(s)).not.toContain('token-of-a');
  });

  it('a secret that does not decrypt is written back as it was stored, never as a new secret', async () => {
    const sub = await store.create('t', input({ authType: 'bearer', bearer: { token: 'original-token' } }));
    const broken = { ...(await raw(sub.id)), bearer: { token: 'enc:v2:damaged.value' } };
    await writeRaw(broken);

    const saved = await store.patchState(sub.id, (s) => ({ ...s, status: 'paused' }));
    expect(saved!.status).toBe('paused');
    const after = await raw(sub.id);
    expect(after.bearer).toEqual({ token: 'enc:v2:damaged.value' });
    expect(after).not.toHaveProperty('unreadableSecrets');
    expect(after.status).toBe('paused');
    expect((await store.get(sub.id))!.unreadableSecrets).toEqual(['/bearer/token']);

    // Setting it again mends it.
    const mended = await store.update((await store.get(sub.id))!, {
      ...input(),
      authType: 'bearer',
      bearer: { token: 'new-token' },
    });
    expect(mended.unreadableSecrets).toBeUndefined();
    const read = await store.get(sub.id);
    expect(read!.unreadableSecrets).toBeUndefined();
    expect(read!.bearer!.token).toBe('new-token');
  });

  it('rotating drops a signing secret that does not decrypt', async () => {
    const sub = await store.create('t', input());
    await writeRaw({ ...(await raw(sub.id)), signingSecrets: [{ secret: 'enc:v2:damaged.value' }] });
    expect((await store.get(sub.id))!.unreadableSecrets).toEqual(['/signingSecrets/0/secret']);
    const rotated = await store.rotateSecret(sub.id, 3_600_000);
    expect(rotated!.signingSecrets).toHaveLength(1);
    const read = await store.get(sub.id);
    expect(read!.unreadableSecrets).toBeUndefined();
    expect(read!.signingSecrets.map((s) => s.secret)).toEqual([rotated!.signingSecrets[0]!.secret]);
  });

  it('reads the enc:v1: secrets 0.3 stored, and stores them as enc:v2: on the next save', async () => {
    const plain = store.build(
      't',
      input({
        authType: 'oauth2',
        oauth2: {
          grantType: 'refresh_token',
          tokenUrl: 'https://auth.example.test/token',
          clientId: 'client',
          clientSecret: 'legacy-client-secret',
          refreshToken: 'legacy-refresh-token',
        },
      }),
    );
    const v1 = mapSecrets(plain, (v) => sealV1(key, v));
    await redis.set(keys.sub(plain.id), JSON.stringify(v1));
    expect(await redis.get(keys.sub(plain.id))).toContain('enc:v1:');

    const read = await store.get(plain.id);
    expect(read!.unreadableSecrets).toBeUndefined();
    expect(read!.oauth2).toMatchObject({
      clientSecret: 'legacy-client-secret',
      refreshToken: 'legacy-refresh-token',
    });
    expect(read!.signingSecrets).toEqual(plain.signingSecrets);

    await store.patchState(plain.id, (s) => s);
    const stored = (await redis.get(keys.sub(plain.id)))!;
    expect(stored).not.toContain('enc:v1:');
    expect(stored).not.toContain('legacy-client-secret');
    expect((await store.get(plain.id))!.oauth2!.clientSecret).toBe('legacy-client-secret');
  });
});
