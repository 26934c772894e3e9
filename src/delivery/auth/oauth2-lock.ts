// A short Redis lock so one process at a time asks a subscription's token endpoint.
import { randomUUID } from 'node:crypto';
import type { Redis } from '../../redis/client.js';
import { luaScript } from '../../redis/scripts.js';

// Deletes the lock only while it is still ours: an expired lock may already belong to someone else.
const RELEASE = luaScript<[lock: string], [token: string], number>('compare-and-delete');

/** The holder's token when the lock was free, else undefined. */
export async function tryLock(redis: Redis, key: string, ttlMs: number): Promise<string | undefined> {
  const token = randomUUID();
  return (await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK' ? token : undefined;
}

export async function unlock(redis: Redis, key: string, token: string): Promise<void> {
  await RELEASE.run(redis, [key], [token]);
}
