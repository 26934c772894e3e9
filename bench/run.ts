// `npm run bench`: baselines and Hookline's B1–B7 in one process tree against the local Redis
// and a real receiver on 127.0.0.1; prints a table and writes bench/results/latest.json.
// See bench/README.md for what each number means and how to reproduce it.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { BenchContext } from './lib/context.js';
import { startHookline, subscribeTenants, type HooklineUnderTest } from './lib/context.js';
import { Child } from './lib/ipc.js';
import { parseOptions, type Phase } from './lib/options.js';
import { startReceiverClient } from './lib/receiver-client.js';
import { connect, deletePrefix } from './lib/redis-tools.js';
import { b7Breakdown, breakdown, json, rows, table, type Results } from './lib/report.js';
import {
  bareBaseline,
  bareEndToEndBaseline,
  mergeRuns,
  noopBaseline,
  undiciBaseline,
} from './phases/baselines.js';
import { b1Throughput, b2Latency, b3Fanout } from './phases/hookline.js';
import { b1PgThroughput, b7Memory } from './phases/history.js';
import { b4Memory, b5Stability } from './phases/resources.js';
import { b6Isolation } from './phases/isolation.js';
import { b1Tracing } from './phases/tracing.js';
import { withBenchSchema } from './lib/pg-tools.js';
import { now } from './lib/clock.js';
import { runProfile } from './profile.js';

const opts = parseOptions(process.argv.slice(2));
const startedAt = new Date();
const redis = connect();
const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
const receiver = await startReceiverClient(opts.receiver);
const log = (msg: string) =>
  process.stderr.write(`[bench ${((Date.now() - startedAt.getTime()) / 1000).toFixed(1)}s] ${msg}\n`);
const ctx: BenchContext = { opts, redis, receiver, prefixes: new Set(), restores: new Set(), log };

let cleaned: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    for (const restore of ctx.restores) await restore().catch(() => undefined);
    for (const prefix of ctx.prefixes) await deletePrefix(redis, prefix).catch(() => undefined);
    await receiver.close().catch(() => undefined);
    await redis.quit().catch(() => undefined);
  })();
  return cleaned;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping children, deleting keys`);
    // Children first: a Hookline still running would write keys after their deletion.
    void Child.killAll()
      .then(cleanup)
      .finally(() => process.exit(130));
  });
}

const results: Results = { errors: {} };
const wants = (p: Phase) => opts.phases.has(p);

async function phase<K extends Exclude<keyof Results, 'errors'>>(
  name: K,
  run: () => Promise<NonNullable<Results[K]>>,
): Promise<void> {
  log(`${name} …`);
  try {
    results[name] = await run();
    log(`${name} done`);
  } catch (err) {
    results.errors[name] = String((err as Error)?.stack ?? err);
    log(`${name} failed: ${results.errors[name]}`);
  }
}

try {
  if (opts.profile) {
    await runProfile(ctx);
  } else {
    log(
      `scale ${opts.scale}, phases ${[...opts.phases].join(',')}, receiver ${opts.receiver}, ` +
        `concurrency ${opts.concurrency}, ${opts.connections} sockets/origin, LOG_LEVEL ${opts.logLevel}`,
    );
    if (wants('noop')) await phase('noop', () => noopBaseline(ctx));
    if (wants('bare')) await phase('bare', () => bareBaseline(ctx));
    if (wants('bareE2e')) await phase('bareE2e', () => bareEndToEndBaseline(ctx));
    if (wants('undici')) await phase('undici', () => undiciBaseline(ctx));
    // A fresh Hookline per phase: a phase that ran out of time leaves a backlog behind, and the
    // next phase must not start behind it.
    const fresh = async <T>(
      tag: string,
      run: (h: HooklineUnderTest) => Promise<T>,
      env: Record<string, string> = {},
    ): Promise<T> => {
      const h = await startHookline(ctx, env);
      try {
        await subscribeTenants(h, receiver.origin, opts.sizes.tenants, tag);
        return await run(h);
      } finally {
        await h.stop();
      }
    };
    if (wants('B1')) await phase('B1', () => fresh('b1', (h) => b1Throughput(ctx, h)));
    if (wants('B1pg'))
      await phase('B1pg', () =>
        withBenchSchema(ctx, (pg) =>
          fresh(
            'b1pg',
            async (h) => {
              await pg.ready(now() + 60_000);
              return b1PgThroughput(ctx, h, pg);
            },
            pg.env,
          ),
        ),
      );
    if (wants('B1otel'))
      await phase('B1otel', () => b1Tracing(ctx, (env) => fresh('b1otel', (h) => b1Throughput(ctx, h), env)));
    if (wants('B2')) await phase('B2', () => fresh('b2', (h) => b2Latency(ctx, h)));
    if (wants('B3')) await phase('B3', () => fresh('b3', (h) => b3Fanout(ctx, h)));
    // The bare worker again (both ways, in the reverse order), so B1's ratios compare against the
    // machine as it was around B1.
    if (results.B1 || results.B1pg)
      for (const [name, again] of [
        ['bareE2e', bareEndToEndBaseline],
        ['bare', bareBaseline],
      ] as const) {
        const first = results[name];
        if (first) await phase(name, async () => mergeRuns([first, await again(ctx)]));
      }
    if (wants('B4')) await phase('B4', () => b4Memory(ctx));
    if (wants('B5')) await phase('B5', () => b5Stability(ctx));
    if (wants('B6')) await phase('B6', () => b6Isolation(ctx));
    if (wants('B7')) await phase('B7', () => b7Memory(ctx));

    const rs = rows(results);
    console.log(
      `\nHookline bench — ${startedAt.toISOString()}, node ${process.version}, redis ${redisVersion}, ` +
        `scale ${opts.scale}${opts.quick ? ' (quick)' : ''}, receiver: ${opts.receiver}\n`,
    );
    console.log(table(rs));
    if (results.B4) console.log(`\n${breakdown(results.B4)}`);
    if (results.B7) console.log(`\n${b7Breakdown(results.B7)}`);
    await mkdir(dirname(opts.out), { recursive: true });
    await writeFile(opts.out, `${JSON.stringify(json(opts, results, redisVersion, startedAt), null, 2)}\n`);
    console.log(`\nwrote ${opts.out}`);
    // Missed targets are the table's news; only a phase that could not run fails the command.
    if (Object.keys(results.errors).length > 0) process.exitCode = 1;
  }
} finally {
  await cleanup();
}
