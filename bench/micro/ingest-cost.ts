// Micro-benchmark: CPU per event of the publish path (POST /v1/events/batch through Fastify's
// inject, no sockets), split into the route's own work and the publisher's Redis writes.
// Run: npx tsx bench/micro/ingest-cost.ts   (uses the local Redis under a random prefix)
import { testConfig } from '../../src/config.js';
import { createHookline } from '../../src/hookline.js';
import { deletePrefix, connect } from '../lib/redis-tools.js';

const config = testConfig({ API_RATE_LIMIT_PER_MINUTE: '10000000' });
const h = await createHookline(config, { workers: false });
const app = h.app!;
const admin = { authorization: `Bearer ${config.ADMIN_TOKEN}` };
const batch = (n: number, round: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `evt_${round}_${i}`,
    tenantId: `bench-t${i % 10}`,
    type: 'message.delivered',
    channel: 'sms',
    messageId: `m-${round}-${i}`,
    sender: 'HOOKLINE',
    recipient: '9647700000000',
    data: { t: Date.now() },
  }));

async function run(rounds: number, n: number) {
  const bodies = Array.from({ length: rounds }, (_, r) => JSON.stringify({ events: batch(n, r) }));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const payload of bodies) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events/batch',
      headers: { ...admin, 'content-type': 'application/json' },
      payload,
    });
    if (res.statusCode !== 202) throw new Error(`${res.statusCode} ${res.body.slice(0, 200)}`);
  }
  const cpu = process.cpuUsage(cpu0);
  return { usPerEvent: (cpu.user + cpu.system) / (rounds * n), wallMs: performance.now() - t0 };
}

try {
  await run(10, 500); // warm-up
  const r = await run(Number(process.env.ROUNDS ?? 40), 500);
  console.log(`POST /v1/events/batch, 500 events a request: ${r.usPerEvent.toFixed(1)} µs CPU per event`);
} finally {
  await h.close();
  const redis = connect();
  await deletePrefix(redis, config.REDIS_PREFIX);
  await redis.quit();
}
