// The client store on real Redis: hashed secrets checked in constant time, opaque tokens kept
// under their hash with a TTL.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { keyspace } from '../../src/redis/client.js';
import { createClientStore, type ClientStore } from '../../src/store/client-store.js';
import { deleteKeys } from '../helpers/harness.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `{hl-test-${randomBytes(6).toString('hex')}}`;
const keys = keyspace(prefix);
let redis: Redis;
let clients: ClientStore;

beforeAll(() => {
  redis = new Redis(url);
  clients = createClientStore(redis, keys, { tokenTtlSeconds: 120 });
});
afterAll(async () => {
  redis.disconnect();
  await deleteKeys(url, prefix);
});

it('authenticates the right secret only, and never stores it', async () => {
  const { client, secret } = await clients.create({
    tenantId: 't',
    name: 'n',
    scopes: ['webhooks:read', 'webhooks:read'],
  });
  expect(client.scopes).toEqual(['webhooks:read']);
  expect(await clients.authenticate(client.id, secret)).toMatchObject({ id: client.id, tenantId: 't' });
  expect(await clients.authenticate(client.id, secret.slice(0, -1))).toBeUndefined();
  expect(await clients.authenticate('cli_unknown', secret)).toBeUndefined();
  const raw = (await redis.get(keys.client(client.id)))!;
  expect(raw).not.toContain(secret);
  expect(JSON.parse(raw)).not.toHaveProperty('secret');
  expect((await clients.authenticate(client.id, secret)) as object).not.toHaveProperty('secretHash');
});

it('issues tokens that resolve until their TTL, stored under a hash', async () => {
  const token = await clients.issueToken({ clientId: 'cli_x', scopes: ['events:publish'] });
  expect(token.expiresIn).toBe(120);
  expect(await clients.resolveToken(token.accessToken)).toEqual({
    clientId: 'cli_x',
    scopes: ['events:publish'],
  });
  expect(await redis.exists(keys.accessToken(token.accessToken))).toBe(0);
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:atok:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  expect(found).toHaveLength(1);
  expect(await redis.ttl(found[0]!)).toBeGreaterThan(100);
  await redis.del(found[0]!);
  expect(await clients.resolveToken(token.accessToken)).toBeUndefined();
  expect(await clients.resolveToken('not-a-token')).toBeUndefined();
});
