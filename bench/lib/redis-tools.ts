// Redis housekeeping for the bench: delete a prefix's keys, and measure what a prefix costs
// (MEMORY USAGE of each of its keys, grouped by what the key is for).
import { Redis } from 'ioredis';

export const redisUrl = () => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function connect(): Redis {
  return new Redis(redisUrl(), { maxRetriesPerRequest: 2, lazyConnect: false });
}

const globEscape = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

async function scanEach(redis: Redis, prefix: string, onBatch: (keys: string[]) => Promise<void>) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 2000);
    cursor = next;
    if (keys.length > 0) await onBatch(keys);
  } while (cursor !== '0');
}

/** SCAN + UNLINK every key of the prefix; returns how many were removed. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let removed = 0;
  await scanEach(redis, prefix, async (keys) => {
    removed += await redis.unlink(...keys);
  });
  return removed;
}

/** Names the role of a Hookline key (after the prefix), to break memory down. */
export function keyClass(key: string, prefix: string): string {
  const k = key.slice(prefix.length + 1);
  let m: RegExpExecArray | null;
  if ((m = /^hookline-deliveries:(.+)$/.exec(k))) {
    return /^dlv_[^:]+$/.test(m[1]!) ? 'delivery job (BullMQ hash)' : 'deliveries queue (lists, zsets, logs)';
  }
  if (k.startsWith('hookline-events:')) return 'events queue';
  if (/^dlv:[^:]+$/.test(k)) return 'delivery record (hash)';
  if (/^dlv:[^:]+:att$/.test(k)) return 'delivery attempts (list)';
  if (/^evt:[^:]+$/.test(k)) return 'event (JSON and its delivery ids, hash)';
  if (k.startsWith('idem:') || k.startsWith('idemh:') || k.startsWith('idm:')) return 'idempotency claims';
  if (k.startsWith('mk:')) return 'status marks (slot tables)';
  if (k.startsWith('mx:')) return 'message index (slot tables)';
  if (k.startsWith('msg:')) return 'message hash (0.4.0-pre marks and index)';
  if (k === 'history' || k.startsWith('history:')) return 'history outbox (stream)';
  if (/^sub:[^:]+:dlv$/.test(k)) return 'subscription → deliveries (zset)';
  if (/^sub:[^:]+:dlv:/.test(k)) return 'subscription → deliveries (index chunks and directory)';
  if (/^sub:[^:]+:held$/.test(k)) return 'held set';
  if (k.startsWith('sub:') || k.startsWith('tenant:') || k.startsWith('subs:') || k.startsWith('suburl:'))
    return 'subscriptions';
  if (k.startsWith('breaker:') || k.startsWith('rate:')) return 'breaker / rate limit';
  return 'other';
}

export interface KeyExample {
  key: string;
  bytes: number;
  type: string;
  encoding: string;
  /** Seconds left, -1 without expiry. */
  ttl: number;
  /** Fields (hash), members (set, zset), items (list), entries (stream), or the string's bytes. */
  length: number;
}

export interface PrefixMemory {
  keys: number;
  bytes: number;
  byClass: Record<string, { keys: number; bytes: number }>;
  /** With `examples`: the last key scanned of each class, described. */
  examples?: Record<string, KeyExample>;
}

/** Sum of MEMORY USAGE (exact: SAMPLES 0) over the prefix's keys, grouped by keyClass. */
export async function prefixMemory(redis: Redis, prefix: string, examples = false): Promise<PrefixMemory> {
  const out: PrefixMemory = { keys: 0, bytes: 0, byClass: {} };
  const sample = new Map<string, { key: string; bytes: number }>();
  await scanEach(redis, prefix, async (keys) => {
    const pipe = redis.pipeline();
    for (const k of keys) pipe.memory('USAGE', k, 'SAMPLES', 0);
    const res = (await pipe.exec()) ?? [];
    keys.forEach((k, i) => {
      const bytes = Number(res[i]?.[1] ?? 0);
      const cls = keyClass(k, prefix);
      const c = (out.byClass[cls] ??= { keys: 0, bytes: 0 });
      c.keys++;
      c.bytes += bytes;
      out.keys++;
      out.bytes += bytes;
      sample.set(cls, { key: k, bytes });
    });
  });
  if (examples) {
    out.examples = {};
    for (const [cls, { key, bytes }] of sample) out.examples[cls] = await describeKey(redis, key, bytes);
  }
  return out;
}

const LENGTH: Record<string, string> = {
  hash: 'HLEN',
  set: 'SCARD',
  zset: 'ZCARD',
  list: 'LLEN',
  stream: 'XLEN',
};

async function describeKey(redis: Redis, key: string, bytes: number): Promise<KeyExample> {
  const type = await redis.type(key);
  const [encoding, ttl, length] = await Promise.all([
    redis.object('ENCODING', key) as Promise<string>,
    redis.ttl(key),
    redis.call(LENGTH[type] ?? 'STRLEN', key) as Promise<number>,
  ]);
  return { key, bytes, type, encoding, ttl, length };
}

/**
 * CPU time (user and system, µs) of the Redis server's main thread, the one that runs commands:
 * over a run, per delivery, it bounds what every worker process together can deliver. A server
 * that does not report its main thread alone (before Redis 6.2) answers the whole process's.
 */
export async function redisCpuUs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  const main = field('used_cpu_user_main_thread') + field('used_cpu_sys_main_thread');
  return Math.round((Number.isFinite(main) ? main : field('used_cpu_user') + field('used_cpu_sys')) * 1e6);
}

export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}
