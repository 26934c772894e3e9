// How much of one Redis a delivery costs, measured on a private redis-server: commands (INFO
// commandstats; a script's own calls count too) and the server's CPU time (INFO cpu) per
// delivery, when deliveries succeed at once and when each needs one retry. docs/operations.md
// "Redis topologies" turns these into the ceiling of one hash slot (one Redis core).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisCpuUs } from '../../../bench/lib/redis-tools.js';
import { startHarness, type Harness } from '../../helpers/harness.js';
import { startReceiver, type Receiver } from '../../helpers/receiver.js';
import { makeEvents, publish, subscribe, uniqueTenant } from '../../resilience/support.js';
import { startServer, stopAll, type Server } from './servers.js';

let server: Server;
let h: Harness;
let rx: Receiver;
let stats: Redis;

beforeAll(async () => {
  server = await startServer(['hash-max-listpack-value 1024']);
  rx = await startReceiver();
  // The breaker stays shut: the retry case fails every first attempt on purpose.
  h = await startHarness({ REDIS_URL: `redis://127.0.0.1:${server.port}`, BREAKER_FAILURES: '100000' });
  stats = new Redis({ port: server.port });
}, 30_000);

afterAll(async () => {
  await h?.close();
  stats?.disconnect();
  await rx?.close();
  await stopAll();
});

/** Commands run and CPU µs the server's main thread used so far. */
async function usage(): Promise<{ commands: number; cpuUs: number }> {
  const info = await stats.info('commandstats');
  let commands = 0;
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    if (m[1] !== 'info') commands += Number(m[2]);
  return { commands, cpuUs: await redisCpuUs(stats) };
}

/** Publishes `events` (batches of 100) to `subs` subscriptions and waits for every delivery. */
async function measure(name: string, subs: number, events: number, failFirst: boolean) {
  const tenant = uniqueTenant(name);
  for (let i = 0; i < subs; i++) await subscribe(h, tenant, `${rx.url}/${name}/${i}`);
  const seen = new Set<string>();
  rx.respond((r) => {
    if (!r.path.startsWith(`/${name}/`)) return { status: 200 };
    const key = `${r.path} ${String(r.headers['webhook-id'])}`;
    const first = !seen.has(key);
    seen.add(key);
    return { status: failFirst && first ? 500 : 200 };
  });
  const before = await usage();
  const list = makeEvents(tenant, events);
  for (let i = 0; i < list.length; i += 100) await publish(h, list.slice(i, i + 100));
  const deliveries = subs * events;
  await rx.waitFor(deliveries * (failFirst ? 2 : 1), {
    filter: (r) => r.path.startsWith(`/${name}/`),
    timeoutMs: 40_000,
  });
  // The records of the last attempts are written just after their responses.
  await h.until(async () => {
    const [a, b] = [await usage(), await usage()];
    return b.commands - a.commands <= 2;
  });
  const after = await usage();
  const perDelivery = (after.commands - before.commands) / deliveries;
  const cpuUs = (after.cpuUs - before.cpuUs) / deliveries;
  console.log(
    `${name}: ${deliveries} deliveries (${events} events × ${subs} subscriptions, publish batches of 100): ` +
      `${perDelivery.toFixed(2)} Redis commands and ${cpuUs.toFixed(1)} µs of Redis CPU per delivery ` +
      `→ one Redis core ≈ ${Math.round(1e6 / cpuUs).toLocaleString('en')} deliveries/s`,
  );
  return { perDelivery, cpuUs };
}

describe('Redis cost per delivery (one hash slot)', () => {
  it('measures first-attempt successes and one-retry deliveries', async () => {
    const ok = await measure('ok', 5, 300, false);
    const retried = await measure('retry', 5, 150, true);
    expect(ok.perDelivery).toBeGreaterThan(0);
    expect(retried.perDelivery).toBeGreaterThan(ok.perDelivery);
  }, 55_000);
});
