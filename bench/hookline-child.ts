// Child process entry: a whole Hookline (API + fan-out + delivery workers, as `npm start` runs
// it) on its own event loop, so its CPU profile and memory are its own.
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { testConfig } from '../src/config.js';
import { createHookline, type Hookline } from '../src/hookline.js';
import { serve } from './lib/ipc.js';
import { childProbes } from './lib/probes.js';

let h: Hookline | undefined;

export interface HooklineStart {
  /** Config variables on top of testConfig's (random prefix, http webhooks, loopback allowed). */
  env: Record<string, string>;
}

export interface HooklineInfo {
  port: number;
  prefix: string;
  deliveryConcurrency: number;
  maxConnectionsPerOrigin: number;
  logLevel: string;
}

/**
 * BENCH_HEAP_SAMPLE_DIR: V8's sampling heap profiler from start to exit, objects collected by
 * young and full collections included, so it shows where allocation goes (not what is kept);
 * with BENCH_HEAP_SAMPLE_KIND=promoted, young collections' garbage left out.
 */
const heapSampling = (() => {
  const dir = process.env.BENCH_HEAP_SAMPLE_DIR;
  let session: Session | undefined;
  return {
    async start() {
      if (!dir) return;
      session = new Session();
      session.connect();
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 16_384,
        includeObjectsCollectedByMajorGC: true,
        // BENCH_HEAP_SAMPLE_KIND=promoted: what outlives young collections (kept, or garbage
        // that only a full collection frees).
        includeObjectsCollectedByMinorGC: process.env.BENCH_HEAP_SAMPLE_KIND !== 'promoted',
      });
    },
    async stop() {
      if (!session || !dir) return;
      const { profile } = await session.post('HeapProfiler.stopSampling');
      await mkdir(dir, { recursive: true });
      await writeFile(`${dir}/hookline-${process.pid}.heapprofile`, JSON.stringify(profile));
      session.disconnect();
      session = undefined;
    },
  };
})();

const gc = (globalThis as { gc?: () => void }).gc;

serve({
  ...childProbes(),
  async start({ env }: HooklineStart): Promise<HooklineInfo> {
    const config = testConfig(env);
    h = await createHookline(config);
    await heapSampling.start();
    await h.app!.listen({ port: 0, host: '127.0.0.1' });
    return {
      port: (h.app!.server.address() as AddressInfo).port,
      prefix: config.REDIS_PREFIX,
      deliveryConcurrency: config.DELIVERY_CONCURRENCY,
      maxConnectionsPerOrigin: config.MAX_CONNECTIONS_PER_ORIGIN,
      logLevel: config.LOG_LEVEL,
    };
  },
  /** Memory of this process; with gc: true, after two full collections (needs --expose-gc). */
  mem({ gc: collect }: { gc?: boolean }) {
    if (collect && gc) {
      gc();
      gc();
    }
    return { ...process.memoryUsage(), gcExposed: gc !== undefined };
  },
  async exit() {
    await heapSampling.stop();
    await h?.close();
    setTimeout(() => process.exit(0), 20);
  },
});
