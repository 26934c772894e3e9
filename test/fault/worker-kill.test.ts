// Fault (a): a worker process killed with SIGKILL in the middle of 2,000 deliveries. Its jobs
// stall; another worker takes them over. Every delivery reaches the receiver (duplicates counted).
import { expect, it } from 'vitest';
import { makeEvents, publish, tally } from '../resilience/support.js';
import { startWorker, workerFaultRun } from './helpers.js';

const N = 2_000;
const run = workerFaultRun();

it('SIGKILL mid-run: all 2,000 deliveries arrive', { timeout: 120_000 }, async () => {
  const started = Date.now();
  // The API (and publisher) run here; the workers are child processes.
  const { api, rx, tenant, env, workers } = await run.start({
    receiverDelayMs: 5,
    tenant: 'kill',
    path: '/k',
    env: { DELIVERY_CONCURRENCY: '50' },
  });

  const accepted = await publish(api, makeEvents(tenant, N));
  expect(accepted).toHaveLength(N);
  await api.until(() => rx.ids.length >= N / 4, 60_000);
  workers[0]!.child.kill('SIGKILL');
  const exit = await workers[0]!.exited;
  const atKill = rx.delivered.size;
  expect(exit.signal).toBe('SIGKILL');

  const restartedAt = Date.now();
  workers.push(await startWorker(env));
  await rx.waitDelivered(N, 100_000);
  const t = tally(rx.ids);
  console.log(
    `fault a (SIGKILL): ${accepted.length} accepted, ${atKill} delivered when killed, ${t.distinct}/${N} distinct delivered, ${t.total} requests, ${t.duplicates} duplicates, ${N - t.distinct} missing; recovered in ${Date.now() - restartedAt} ms, ${Date.now() - started} ms in all`,
  );
  expect(new Set(rx.ids)).toEqual(new Set(accepted));
});
