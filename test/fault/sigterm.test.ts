// Fault (e): SIGTERM during load. The worker process stops taking jobs, finishes those in flight
// and exits 0; a second worker delivers the rest. Nothing is lost, nothing waits for stall recovery.
import { afterAll, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { makeEvents, publish, subscribe, tally, uniqueTenant } from '../resilience/support.js';
import {
  startCountingReceiver,
  startWorker,
  stopWorker,
  workerEnv,
  type CountingReceiver,
  type WorkerProcess,
} from './helpers.js';

const N = 2_000;
let api: Harness | undefined;
let rx: CountingReceiver | undefined;
const workers: WorkerProcess[] = [];

afterAll(async () => {
  for (const w of workers) await stopWorker(w);
  await api?.close();
  await rx?.close();
});

it(
  'SIGTERM under load: exit code 0, then all 2,000 delivered by another worker',
  { timeout: 120_000 },
  async () => {
    const started = Date.now();
    api = await startHarness({}, { workers: false });
    // Slow enough that many requests are in flight when the signal comes.
    rx = await startCountingReceiver(20);
    const tenant = uniqueTenant('term');
    await subscribe(api, tenant, `${rx.url}/t`);
    const env = workerEnv(api.config, { DELIVERY_CONCURRENCY: '50', SHUTDOWN_TIMEOUT_MS: '20000' });
    workers.push(await startWorker(env));

    const accepted = await publish(api, makeEvents(tenant, N));
    await api.until(() => rx!.ids.length >= N / 4, 60_000);
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
