// Micro-benchmark behind a profile finding: an ioredis pipeline copies every script defined on
// its connection, and a connection shared with BullMQ carries all of BullMQ's (about 60).
// Run: npx tsx bench/micro/pipeline-cost.ts
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { newPrefix } from '../lib/context.js';
import { deletePrefix, redisUrl } from '../lib/redis-tools.js';

const N = 20_000;
const shared = new Redis(redisUrl());
const plain = new Redis(redisUrl());
const prefix = newPrefix('micro');
const queue = new Queue('micro', { connection: shared, prefix });
await queue.getJobCounts(); // loads BullMQ's scripts onto `shared`
const scripts = Object.keys((shared as unknown as { scriptsSet: object }).scriptsSet).length;

function perPipeline(r: Redis): number {
  const t = performance.now();
  for (let i = 0; i < N; i++) r.pipeline();
  return ((performance.now() - t) / N) * 1000;
}
for (const r of [shared, plain]) perPipeline(r); // warm-up
console.log(
  `pipeline() on a connection shared with BullMQ (${scripts} scripts): ${perPipeline(shared).toFixed(1)} µs`,
);
console.log(`pipeline() on a connection of its own:                 ${perPipeline(plain).toFixed(1)} µs`);

await queue.obliterate({ force: true });
await queue.close();
await deletePrefix(plain, prefix);
shared.disconnect();
plain.disconnect();
