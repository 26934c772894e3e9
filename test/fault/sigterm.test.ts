// Fault (e): SIGTERM during load. The worker process stops taking jobs, finishes those in flight
// and exits 0; a second worker delivers the rest. Nothing is lost, nothing waits for stall recovery.
import { expect, it } from 'vitest';
import { makeEvents, publish, tally } from '../resilience/support.js';
import { startWorker, workerFaultRun } from './helpers.js';

const N = 2_000;
const run = workerFaultRun();

it(
  'SIGTERM under load: exit code 0, then all 2,000 delivered by another worker',
  { timeout: 120_000 },
  async () => {
    const started = Date.now();
    // A receiver slow enough (20 ms) that many requests are in flight when the signal comes.
    const { api, rx, tenant, env, workers } = await run.start({
      receiverDelayMs: 20,
      tenant: 'term',
      path: '/t',
      env: { DELIVERY_CONCURRENCY: '50', SHUTDOWN_TIMEOUT_MS: '20000' },
    });

    const accepted = await publish(api, makeEvents(tenant, N));
    await api.until(() => rx.ids.length >= N / 4, 60_000);
    const signalledAt = Date.now();
    workers[0]!.child.kill('SIGTERM');
    const exit = await workers[0]!.exited;
    const exitMs = Date.now() - signalledAt;
    const atExit = rx.delivered.size;
    expect(exit).toEqual({ code: 0, signal: null });
    // In-flight jobs were finished, not abandoned to stalled-job recovery.
    const left = await api.hookline.ctx.deliveriesQueue.getJobCounts('active');
    expect(left.active).toBe(0);

    const restartedAt = Date.now();
    workers.push(await startWorker(env));
    await rx.waitDelivered(N, 60_000);
    const restMs = Date.now() - restartedAt;
    const t = tally(rx.ids);
    console.log(
      `fault e (SIGTERM): exit code ${exit.code} after ${exitMs} ms, ${atExit} delivered by then, ${left.active} jobs left active; ${t.distinct}/${N} distinct delivered, ${t.total} requests, ${t.duplicates} duplicates, ${N - t.distinct} missing; rest delivered in ${restMs} ms, ${Date.now() - started} ms in all`,
    );
    expect(new Set(rx.ids)).toEqual(new Set(accepted));
    // Nothing was sent twice: no job went back to the queue after its request had been made.
    expect(t.duplicates).toBe(0);
  },
);
