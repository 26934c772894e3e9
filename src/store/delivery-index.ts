// Reading the per-subscription delivery indexes (src/redis/lua/lib/delivery-index.lua: chunks of
// small sorted sets under a directory, plus the one sorted set of earlier versions, merged in
// until it expires). Written only by the scripts that create and drop records.
import type { ChainableCommander, Redis } from 'ioredis';
import { luaScript } from '../redis/scripts.js';

/** Up to n entries of an index within [min, max] (epoch ms, '' = unbounded), newest first: id, score, … */
export const INDEX_RANGE = luaScript<[idx: string], [max: string, min: string, n: number], string[]>(
  'index-range',
);

export interface IndexEntry {
  id: string;
  /** The record's creation, epoch ms. */
  score: number;
}

const bound = (ms: number | undefined) => (ms === undefined ? '' : String(ms));
type Range = { max?: number; min?: number; n: number };
/** INDEX_RANGE's arguments for a range. */
const rangeArgs = (r: Range): [string, string, number] => [bound(r.max), bound(r.min), r.n];

export function entriesOf(flat: string[]): IndexEntry[] {
  const out: IndexEntry[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ id: flat[i]!, score: Number(flat[i + 1]) });
  return out;
}

/** Queues a read of up to `n` entries scored within [min, max] (INDEX_RANGE defined on its connection). */
export function queueIndexRange(pipe: ChainableCommander, index: string, range: Range): void {
  INDEX_RANGE.queue(pipe, [index], rangeArgs(range));
}

/** Up to `n` entries of one index scored within [min, max], newest first. */
export async function indexRange(redis: Redis, index: string, range: Range): Promise<IndexEntry[]> {
  return entriesOf(await INDEX_RANGE.run(redis, [index], rangeArgs(range)));
}
