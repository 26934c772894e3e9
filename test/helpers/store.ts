// A delivery store against real Redis on its own random key prefix (testConfig), for the tests of
// one file: connected before them, its keys deleted and the connection closed after.
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { testConfig } from '../../src/config.js';
import { keyspace, type Keys } from '../../src/redis/client.js';
import { createDeliveryStore, type DeliveryStore } from '../../src/store/delivery-store.js';
import { deleteKeys } from './harness.js';

/**
 * Opens a connection and a delivery store keeping records `ttlSeconds` before all tests of the
 * file (handing both to `set`); deletes the prefix's keys and disconnects after them. Returns
 * the prefix's keys.
 */
export function withDeliveryStore(
  ttlSeconds: number,
  set: (opened: { redis: Redis; store: DeliveryStore }) => void,
): Keys {
  const config = testConfig();
  const keys = keyspace(config.REDIS_PREFIX);
  let redis: Redis | undefined;
  beforeAll(() => {
    redis = new Redis(config.REDIS_URL);
    set({ redis, store: createDeliveryStore(redis, keys, ttlSeconds) });
  });
  afterAll(async () => {
    await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
    redis?.disconnect();
  });
  return keys;
}
