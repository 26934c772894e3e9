// The addressing of lua/lib/linear-hash.lua in TypeScript, for reads outside a script (tests,
// tools): a table `<base>` counts the fields ever added, its buckets are `<base>:<n>`.

/** Fields per bucket on average (lua/lib/linear-hash.lua's LH_LOAD): at most about twice that. */
export const LH_LOAD = 40;

/** Buckets of a table that has had `count` fields added. */
export const lhBuckets = (count: number): number => Math.floor(count / LH_LOAD) + 1;

/** The bucket index of a field (its first 4 bytes are its hash) in a table of `buckets` buckets. */
export function lhBucketOf(field: Buffer, buckets: number): number {
  const h = field.readUInt32BE(0);
  let p = 1;
  while (p * 2 <= buckets) p *= 2;
  const b = h % p;
  return b < buckets - p ? h % (p * 2) : b;
}
