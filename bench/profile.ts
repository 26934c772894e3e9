// `npm run bench -- --profile`: a B1-like run with Hookline under --cpu-prof, and the bare worker
// under --cpu-prof on the same number of jobs, then a summary of both side by side.
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from './lib/context.js';
import { startHookline, subscribeTenants } from './lib/context.js';
import { perItem, type RedisCounts } from './lib/redis-counter.js';
import { bareBaseline } from './phases/baselines.js';
import { b1Throughput, type B1Result } from './phases/hookline.js';
import { formatSummary, summariseFile, type Window } from './profile-summary.js';
import { withBenchSchema } from './lib/pg-tools.js';
import { startOtlpSink } from './lib/otlp-sink.js';
import { now } from './lib/clock.js';

// Node names each thread's profile CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; tsx's loader
// runs in a thread of its own, so each process gets a directory and we read the main thread's.
const profArgs = (dir: string) => ['--cpu-prof', `--cpu-prof-dir=${dir}`];

async function mainThreadProfile(dir: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  if (files.length !== 1)
    throw new Error(`expected one main-thread profile in ${dir}, found ${files.length}`);
  return join(dir, files[0]!);
}

export async function runProfile(ctx: BenchContext): Promise<void> {
  // `--pg`: the same run with the PostgreSQL history store (B1pg), on a schema of its own.
  if (ctx.opts.profilePg)
    return withBenchSchema(ctx, (pg) => profileRun(ctx, pg.env, () => pg.ready(now() + 60_000)));
  // `--otel`: with tracing on (every event sampled), exporting to a collector stand-in (B1otel's).
  if (ctx.opts.profileOtel) {
    const sink = await startOtlpSink();
    try {
      return await profileRun(
        ctx,
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
          OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
          OTEL_TRACES_SAMPLER_ARG: '1.0',
        },
        async () => undefined,
      );
    } finally {
      await sink.close();
    }
  }
  return profileRun(ctx, {}, async () => undefined);
}

async function profileRun(
  ctx: BenchContext,
  env: Record<string, string>,
  ready: () => Promise<void>,
): Promise<void> {
  process.env.BENCH_COUNT_REDIS = '1'; // children inherit it
  const dir = join('bench/results/profiles', new Date().toISOString().replace(/[:.]/g, '-'));
  await mkdir(dir, { recursive: true });
  ctx.log(`profiling into ${dir}`);

  const bare = await bareBaseline(ctx, profArgs(join(dir, 'bare')));
  ctx.log(`bare worker: ${Math.round(bare.perSecond)}/s`);

  const h = await startHookline(ctx, env, profArgs(join(dir, 'hookline')));
  let b1: B1Result;
  let window: Window | undefined;
  let redis: RedisCounts | null | undefined;
  try {
    await ready();
    await subscribeTenants(h, ctx.receiver.origin, ctx.opts.sizes.tenants, 'prof');
    const fromUs = await h.child.call<number>('monotonicUs');
    await h.child.call('redisReset');
    b1 = await b1Throughput(ctx, h);
    window = { fromUs, toUs: await h.child.call<number>('monotonicUs') };
    redis = await h.child.call<RedisCounts | null>('redisCounts');
  } finally {
    await h.stop(); // the profile is written as the child exits
  }
  ctx.log(`hookline B1: ${Math.round(b1.perSecond)}/s`);

  const perDelivery = (busyMs: number, n: number) =>
    `${((busyMs / n) * 1000).toFixed(0)} µs CPU per delivery`;
  const hs = await summariseFile(await mainThreadProfile(join(dir, 'hookline')), 30, window);
  const bs = await summariseFile(await mainThreadProfile(join(dir, 'bare')), 15, bare.window);
  const trips = (label: string, c: RedisCounts | null | undefined, n: number) => {
    if (!c) return `${label}: no Redis counts`;
    const p = perItem(c, n);
    return [
      `${label}: ${p.commands} Redis commands and ${p.roundTrips} round trips per delivery`,
      ...p.top.map((t) => `    ${t.perItem.toFixed(2).padStart(6)}  ${t.name}`),
    ].join('\n');
  };
  const text = [
    `Profile of ${b1.count} deliveries${env.DATABASE_URL ? ' with the PostgreSQL history (B1pg-like)' : ''}${env.OTEL_EXPORTER_OTLP_ENDPOINT ? ' with tracing on' : ''} (B1-like: HTTP publish → fan-out → delivery), LOG_LEVEL ${ctx.opts.logLevel}`,
    `Hookline ${Math.round(b1.perSecond)}/s, ${perDelivery(hs.busyMs, b1.count)}; ` +
      `bare worker ${Math.round(bare.perSecond)}/s, ${perDelivery(bs.busyMs, bare.count)}`,
    '',
    trips('Hookline', redis, b1.count),
    trips('bare worker', bare.redis, bare.count),
    '',
    formatSummary('Hookline process', hs, b1.count),
    '',
    formatSummary('bare worker process', bs, bare.count),
  ].join('\n');
  await writeFile(join(dir, 'summary.txt'), `${text}\n`);
  await writeFile(
    join(dir, 'summary.json'),
    JSON.stringify({ b1, bare, redis, hookline: hs, bareWorker: bs }, null, 2),
  );
  console.log(text);
  console.log(`\nprofiles and summary in ${dir}`);
}
