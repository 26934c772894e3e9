// What every phase gets: options, a Redis connection for housekeeping, the receiver, and the
// list of key prefixes to delete at the end (however the run ends).
import { startFlags } from './node-flags.js';
import { testConfig } from '../../src/config.js';
import { youngGenerationFlags } from '../../src/young-generation.js';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Child } from './ipc.js';
import { HooklineApi } from './api.js';
import type { Options } from './options.js';
import type { ReceiverClient } from './receiver-client.js';
import { deletePrefix } from './redis-tools.js';
import type { HooklineInfo, HooklineStart } from '../hookline-child.js';

export interface BenchContext {
  opts: Options;
  redis: Redis;
  receiver: ReceiverClient;
  /** Prefixes this run wrote under; all are deleted at the end. */
  prefixes: Set<string>;
  /** Server settings a phase changed, put back when it ends (or at the end, however the run ends). */
  restores: Set<() => Promise<void>>;
  log(msg: string): void;
}

export const newPrefix = (what: string) => `{hl-bench-${what}-${randomBytes(4).toString('hex')}}`;

export interface HooklineUnderTest {
  child: Child;
  info: HooklineInfo;
  api: HooklineApi;
  /** Closes Hookline (workers finish in-flight jobs) and deletes its keys. */
  stop(): Promise<void>;
}

/** Starts Hookline in a child process with the bench's settings plus `env`. */
export async function startHookline(
  ctx: BenchContext,
  env: Record<string, string> = {},
  execArgv: string[] = [],
): Promise<HooklineUnderTest> {
  const prefix = newPrefix('hl');
  ctx.prefixes.add(prefix);
  const start: HooklineStart = {
    env: {
      REDIS_PREFIX: prefix,
      LOG_LEVEL: ctx.opts.logLevel,
      DELIVERY_CONCURRENCY: String(ctx.opts.concurrency),
      MAX_CONNECTIONS_PER_ORIGIN: String(ctx.opts.connections),
      // The bench publishes far faster than one client would be allowed to.
      API_RATE_LIMIT_PER_MINUTE: '10000000',
      ...env,
      // BENCH_HOOKLINE_ENV="FANOUT_CONCURRENCY=4 …": settings for every Hookline (investigation only).
      ...Object.fromEntries(
        (process.env.BENCH_HOOKLINE_ENV ?? '')
          .split(' ')
          .filter((w) => w.includes('='))
          .map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
      ),
    },
  };
  // `npm start`'s flags, then the young-generation flag main.ts restarts itself with for this
  // config (tracing on or off); BENCH_HOOKLINE_NODE_ARGS after them wins (V8 takes the last).
  const extra = process.env.BENCH_HOOKLINE_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const young = youngGenerationFlags(testConfig(start.env));
  const child = Child.start('hookline-child.ts', {
    label: 'hookline',
    execArgv: [...startFlags(), ...young, ...extra, ...execArgv],
  });
  const info = await child.call<HooklineInfo>('start', start, 60_000);
  const api = new HooklineApi(`http://127.0.0.1:${info.port}`);
  return {
    child,
    info,
    api,
    async stop() {
      await api.close();
      await child.stop(20_000);
      await deletePrefix(ctx.redis, prefix);
      ctx.prefixes.delete(prefix);
    },
  };
}

/** One subscription per tenant (bench-t0…), each to its own path on `origin`. */
export async function subscribeTenants(h: HooklineUnderTest, origin: string, tenants: number, tag: string) {
  return h.api.createSubscriptions(
    Array.from({ length: tenants }, (_, i) => ({ tenantId: `bench-t${i}`, url: `${origin}/${tag}/t${i}` })),
  );
}
