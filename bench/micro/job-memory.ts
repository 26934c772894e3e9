// Micro-benchmark behind two B4 findings: what one queued delivery job costs Redis with the
// event embedded in its data (Hookline before 0.2) and without it (jobs now carry the event's
// id only), under the default hash-max-listpack-value (64) and under 1024. It starts a private redis-server on a free
// loopback port, so the shared server's settings are left alone.
// Run: npx tsx bench/micro/job-memory.ts
import { spawn } from 'node:child_process';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { sleep } from '../lib/clock.js';
import { deadPort } from '../lib/receiver.js';

const N = 5_000;
const event = {
  tenantId: 'bench-t1',
  type: 'message.delivered',
  channel: 'sms',
  messageId: 'msg-1',
  sender: 'HOOKLINE',
  recipient: '9647700000000',
  data: { t: 1763824000000.123 },
  id: 'evt_3kTMd8mK2vQ1c9ZrX0aB7wYp',
  occurredAt: '2026-11-22T15:00:00.000Z',
  acceptedAt: 1763824000000,
};
// The options Hookline's fan-out gives every delivery job (src/queue/fanout.ts).
const opts = (jobId: string) => ({
  jobId,
  attempts: 11,
  backoff: { type: 'hookline' },
  removeOnComplete: true,
  removeOnFail: { age: 604_800, count: 100_000 },
});

const port = await deadPort();
const server = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  {
    stdio: 'ignore',
  },
);
try {
  const redis = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 1 });
  for (let i = 0; ; i++) {
    try {
      await redis.connect();
      break;
    } catch (err) {
      if (i > 50) throw err;
      await sleep(100);
    }
  }
  for (const listpackValue of [64, 1024]) {
    await redis.config('SET', 'hash-max-listpack-value', String(listpackValue));
    for (const embed of [true, false]) {
      await redis.flushall();
      const q = new Queue('hookline-deliveries', { connection: redis, prefix: '{hookline}' });
      const before = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
      for (let i = 0; i < N; i += 500) {
        await q.addBulk(
          Array.from({ length: 500 }, (_, k) => {
            const d = `dlv_${String(i + k).padStart(24, '0')}`;
            const data = embed
              ? { d, s: 'sub_8HjK2mN4pQ6rS8tU0vW2xY4z', e: event }
              : { d, s: 'sub_8HjK2mN4pQ6rS8tU0vW2xY4z' };
            return { name: 'message.delivered', data, opts: opts(d) };
          }),
        );
      }
      const after = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
      const key = `{hookline}:hookline-deliveries:dlv_${'0'.repeat(24)}`;
      console.log(
        `hash-max-listpack-value ${String(listpackValue).padStart(4)}, event ${embed ? 'embedded' : 'not embedded'}: ` +
          `${Math.round((after - before) / N)} B per waiting job (job hash ${await redis.memory('USAGE', key)} B, ` +
          `${await redis.object('ENCODING', key)})`,
      );
      await q.close();
    }
  }
  redis.disconnect();
} finally {
  server.kill();
}
