// A private redis-server on a free loopback port, for phases that measure INFO used_memory: on
// the shared server other people's keys move it by more than what is measured. Same binary as
// the local server; killed at the end of the phase (and on Ctrl-C, through ctx.restores).
import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import type { BenchContext } from './context.js';
import { sleep } from './clock.js';
import { deadPort } from './receiver.js';
import { RECOMMENDED_REDIS_SETTINGS } from '../../src/redis/client.js';

export interface PrivateRedis {
  url: string;
  redis: Redis;
  version: string;
  /** The settings it runs under (production's unless --redis-defaults). */
  settings: Record<string, string>;
  stop(): Promise<void>;
}

export async function startPrivateRedis(ctx: BenchContext): Promise<PrivateRedis> {
  const port = await deadPort();
  const server = spawn(
    process.env.BENCH_REDIS_SERVER ?? 'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const spawned = new Promise<void>((resolve, reject) => {
    server.once('spawn', resolve);
    server.once('error', reject);
  });
  // Connected by hand below while the server starts: no reconnection, refusals not reported.
  const redis = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    retryStrategy: () => null,
  });
  const quiet = () => undefined;
  redis.on('error', quiet);
  const stop = async () => {
    ctx.restores.delete(stop);
    redis.disconnect();
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      await exited;
    }
  };
  ctx.restores.add(stop);
  try {
    await spawned;
    for (let i = 0; ; i++) {
      try {
        await redis.connect();
        break;
      } catch (err) {
        if (i > 50) throw err;
        await sleep(100);
      }
    }
    redis.off('error', quiet);
    const settings: Record<string, string> = {};
    for (const [name, { min }] of Object.entries(RECOMMENDED_REDIS_SETTINGS)) {
      const [, own] = (await redis.config('GET', name)) as [string, string];
      const used = ctx.opts.redisDefaults || Number(own) >= min ? own : String(min);
      if (used !== own) await redis.config('SET', name, used);
      settings[name] = used;
    }
    const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
    return { url: `redis://127.0.0.1:${port}`, redis, version, settings, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
