// Child process entry for the baselines, each the least a webhook dispatcher could do:
// a BullMQ worker whose processor does nothing, a BullMQ worker that POSTs each job's JSON
// with undici (the "bare worker"), and undici alone at the same concurrency (no queue).
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { now } from './lib/clock.js';
import { serve } from './lib/ipc.js';
import { childProbes } from './lib/probes.js';
import { redisUrl } from './lib/redis-tools.js';

export interface WorkerSetup {
  mode: 'noop' | 'bare';
  queue: string;
  prefix: string;
  concurrency: number;
  /** bare: where each job is POSTed */
  url?: string;
  connections: number;
}

export interface UndiciRun {
  url: string;
  concurrency: number;
  connections: number;
  total: number;
  body: string;
  deadlineMs: number;
}

let worker: Worker | undefined;
let connection: Redis | undefined;
let agent: Agent | undefined;
const counts = {
  completed: 0,
  failed: 0,
  expect: 0,
  p10At: null as number | null,
  p90At: null as number | null,
  doneAt: null as number | null,
};

/** The same Agent settings as Hookline's delivery Agent (src/delivery/http-client.ts). */
function makeAgent(connections: number): Agent {
  return new Agent({ connections, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 120_000 });
}

async function post(url: string, body: string, dispatcher: Agent): Promise<void> {
  const res = await request(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
    dispatcher,
    signal: AbortSignal.timeout(10_000),
  });
  await res.body.dump();
  if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`receiver answered ${res.statusCode}`);
}

serve({
  ...childProbes(),
  async setup(s: WorkerSetup) {
    connection = new Redis(redisUrl(), { maxRetriesPerRequest: null });
    agent = makeAgent(s.connections);
    const a = agent;
    const processor =
      s.mode === 'noop'
        ? async () => undefined
        : async (job: { data: unknown }) => post(s.url!, JSON.stringify(job.data), a);
    worker = new Worker(s.queue, processor, {
      connection,
      prefix: s.prefix,
      concurrency: s.concurrency,
      autorun: false,
    });
    worker.on('completed', () => {
      const n = ++counts.completed;
      if (n === Math.max(1, Math.floor(counts.expect * 0.1))) counts.p10At = now();
      if (n === Math.max(1, Math.floor(counts.expect * 0.9))) counts.p90At = now();
      if (n === counts.expect) counts.doneAt = now();
    });
    worker.on('failed', () => counts.failed++);
    worker.on('error', () => undefined);
    await worker.waitUntilReady();
    return true;
  },
  /** Starts the worker on the jobs already queued; returns the start time. */
  run({ expect }: { expect: number }) {
    Object.assign(counts, { completed: 0, failed: 0, expect, p10At: null, p90At: null, doneAt: null });
    const startedAt = now();
    void worker!.run();
    return startedAt;
  },
  stats: () => ({ ...counts, at: now() }),
  /** `total` POSTs with `concurrency` loops, no queue; bounded by the deadline. */
  async undici(r: UndiciRun) {
    const a = makeAgent(r.connections);
    let sent = 0;
    let done = 0;
    let errors = 0;
    const startedAt = now();
    const stopAt = startedAt + r.deadlineMs;
    const loop = async () => {
      while (sent < r.total && now() < stopAt) {
        sent++;
        try {
          await post(r.url, r.body, a);
          done++;
        } catch {
          errors++;
        }
      }
    };
    await Promise.all(Array.from({ length: r.concurrency }, loop));
    const doneAt = now();
    await a.close();
    return { startedAt, doneAt, done, errors };
  },
  async exit() {
    await worker?.close();
    await connection?.quit().catch(() => undefined);
    await agent?.close();
    setTimeout(() => process.exit(0), 20);
  },
});
