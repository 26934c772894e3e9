// A short Redis lock so one process at a time asks a subscription's token endpoint.
import { randomUUID } from 'node:crypto';
import type { Redis } from '../../redis/client.js';

// Deletes the lock only while it is still ours: an expired lock may already belong to someone else.
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

/** The holder's token when the lock was free, else undefined. */
export async function tryLock(redis: Redis, key: string, ttlMs: number): Promise<string | undefined> {
  const token = randomUUID();
  return (await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK' ? token : undefined;
}

export async function unlock(redis: Redis, key: string, token: string): Promise<void> {
  await redis.eval(RELEASE, 1, key, token);
}
