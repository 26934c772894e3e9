// B6, one tenant's deliveries isolated from another's trouble (issue 18): tenant B publishes
// 50 events/s to a healthy receiver; its accepted → received latency is measured alone, then
// while tenant A publishes to a receiver that is slow, hangs, answers 503 or is healthy but
// flooded. Each case gets a fresh Hookline with default settings, so no backlog carries over.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HooklineApi } from '../lib/api.js';
import { now, sleep } from '../lib/clock.js';
import { startHookline, type BenchContext, type HooklineUnderTest } from '../lib/context.js';
import { percentile } from '../lib/stats.js';
import { indexRange } from '../../src/store/delivery-index.js';
import { statusFromRedis } from '../../src/store/delivery-layout.js';

export type ACase = 'slow' | 'hang' | '503' | 'flood' | 'bulk';

/** What A's receiver does, how fast A publishes (× B's rate) and how often (a call every tickMs). */
export const A_CASES: Record<ACase, { label: string; rate: number; tickMs: number }> = {
  slow: { label: '(a) A answers 200 after 3 s', rate: 1, tickMs: 100 },
  hang: { label: '(b) A hangs past its timeout (10 s)', rate: 1, tickMs: 100 },
  '503': { label: '(c) A answers 503', rate: 1, tickMs: 100 },
  flood: { label: '(d) A healthy, 10 × B’s rate, 50 ms each', rate: 10, tickMs: 100 },
  // A hostile tenant's shape of the same flood: the largest batch the API takes, once a second.
  bulk: { label: '(e) as (d), in calls of 500 events once a second', rate: 10, tickMs: 1_000 },
};

export interface ALedger {
  accepted: number;
  /** A's delivery records (one per accepted event; fewer: lost). */
  records: number;
  succeeded: number;
  /** Retrying with its retry job queued. */
  retrying: number;
  /** Retrying with no job for it in the deliveries queue (lost from the schedule). */
  retryingUnqueued: number;
  /** Not attempted yet (waiting for a slot, or under way). */
  pending: number;
  failed: number;
  other: number;
  /** Requests A's receiver got. */
  requests: number;
}

export interface B6Case {
  name: 'alone' | ACase;
  label: string;
  sent: number;
  received: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  a?: ALedger;
  /** Hookline's event-loop delay during the case (ms). */
  loop?: { p50: number; p99: number; max: number; cpuShare?: number };
  timedOut: boolean;
}

export interface B6Result {
  rate: number;
  durationMs: number;
  cases: B6Case[];
}

/** A's receiver, in this process: counts requests and answers as the case says. */
async function startAReceiver(
  mode: ACase,
): Promise<{ url: string; count: () => number; close(): Promise<void> }> {
  let n = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      const answer = (status: number) => {
        if (!res.destroyed) res.writeHead(status, { 'content-length': '0' }).end();
      };
      if (mode === 'slow') setTimeout(() => answer(200), 3_000).unref();
      else if (mode === 'flood' || mode === 'bulk') setTimeout(() => answer(200), 50).unref();
      else if (mode === '503') answer(503);
      // hang: never answers; Hookline's timeout closes the request.
    });
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/a`,
    count: () => n,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** Publishes `rate` events/s of one tenant, a batch every tickMs, until `until`. */
async function paced(
  api: HooklineApi,
  o: { tenantId: string; rate: number; tickMs: number; until: number; tag: string },
): Promise<{ sent: number; accepted: number }> {
  const start = now();
  let sent = 0;
  let accepted = 0;
  const inflight = new Set<Promise<void>>();
  for (let tick = 0; start + tick * o.tickMs < o.until; tick++) {
    const wait = start + tick * o.tickMs - now();
    if (wait > 0) await sleep(wait);
    // At most the API's batch limit a call (a late tick catches up on the next).
    const n = Math.min(500, Math.round(((now() - start) / 1000) * o.rate) - sent);
    if (n <= 0) continue;
    const from = sent;
    sent += n;
    const t = now();
    const events = Array.from({ length: n }, (_, k) => ({
      tenantId: o.tenantId,
      type: 'message.delivered',
      channel: 'sms',
      messageId: `${o.tag}-${from + k}`,
      sender: 'HOOKLINE',
      recipient: '9647700000000',
      data: { t },
    }));
    const p = api
      .publishBatch(events)
      .then((a) => {
        accepted += a;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  return { sent, accepted };
}

/** B's events at `rate`, and A's beside them at its case's rate, until `until`. */
function publishCase(
  api: HooklineApi,
  name: B6Case['name'],
  o: { bTenant: string; rate: number; until: number; tag: string },
) {
  return Promise.all([
    paced(api, { tenantId: o.bTenant, rate: o.rate, tickMs: 100, until: o.until, tag: `${o.tag}b` }),
    name === 'alone'
      ? undefined
      : sleep(Number(process.env.BENCH_B6_A_OFFSET_MS ?? 0)).then(() =>
          paced(api, {
            tenantId: 'bench-b6-a',
            rate: o.rate * A_CASES[name].rate,
            tickMs: A_CASES[name].tickMs,
            until: o.until,
            tag: `${o.tag}a`,
          }),
        ),
  ]);
}

/** A's deliveries by status, read from Redis (the records and the deliveries queue's jobs). */
async function ledger(
  ctx: BenchContext,
  h: HooklineUnderTest,
  subId: string,
  accepted: number,
  /** A's receiver's count, read once the records are (A's last requests may come after B's). */
  requests: () => number,
): Promise<ALedger> {
  const p = h.info.prefix;
  const read = async () =>
    (await indexRange(ctx.redis, `${p}:sub:${subId}:dlv`, { n: 10_000_000 })).map((e) => e.id);
  // A's last calls may still be in their fan-out (its records are written a slice at a time):
  // wait up to 10 s for a record per accepted event before counting.
  let ids = await read();
  for (const until = now() + 10_000; ids.length < accepted && now() < until; ids = await read())
    await sleep(100);
  const l: ALedger = {
    accepted,
    records: ids.length,
    succeeded: 0,
    retrying: 0,
    retryingUnqueued: 0,
    pending: 0,
    failed: 0,
    other: 0,
    requests: 0,
  };
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    const pipe = ctx.redis.pipeline();
    for (const id of chunk)
      pipe.hmget(`${p}:dlv:${id}`, 's', 'status').exists(`${p}:hookline-deliveries:${id}`);
    const replies = (await pipe.exec()) ?? [];
    for (let k = 0; k < chunk.length; k++) {
      // The compact record layout keeps a status code in `s`; older records, the name in `status`.
      const [code, legacy] = (replies[2 * k]?.[1] as (string | null)[] | undefined) ?? [null, null];
      const status = code || legacy ? statusFromRedis(code, legacy) : null;
      const job = replies[2 * k + 1]?.[1] === 1;
      if (status === 'succeeded') l.succeeded++;
      else if (status === 'retrying') {
        if (job) l.retrying++;
        else l.retryingUnqueued++;
      } else if (status === 'pending') l.pending++;
      else if (status === 'failed') l.failed++;
      else l.other++;
    }
  }
  // After the statuses: every request a succeeded record was answered for has been counted.
  l.requests = requests();
  return l;
}

/** Every A delivery made or on its schedule: one record per event, none failed, none unqueued. */
export const aAccounted = (a: ALedger) =>
  a.records === a.accepted && a.failed === 0 && a.retryingUnqueued === 0 && a.other === 0;

async function runCase(ctx: BenchContext, name: B6Case['name'], rate: number, ms: number): Promise<B6Case> {
  const label = name === 'alone' ? 'B alone' : A_CASES[name].label;
  const prof = process.env.BENCH_B6_PROF_DIR;
  const h = await startHookline(ctx, {}, prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}/${name}`] : []);
  const a = name === 'alone' ? undefined : await startAReceiver(name);
  try {
    const tag = `b6${name}${Math.random().toString(36).slice(2, 6)}`;
    const bTenant = `bench-b6-b`;
    await h.api.createSubscription(bTenant, `${ctx.receiver.origin}/b6/b`);
    const aSub = a ? await h.api.createSubscription('bench-b6-a', a.url) : undefined;
    // The case's own traffic first, not measured (B, and A beside it): connections, caches and
    // JIT tiers settle, so the measured part is the steady state a running service is in.
    await ctx.receiver.reset({ mode: 'count' });
    const warmUntil = now() + ctx.opts.sizes.b6WarmMs;
    const [warm, aWarm] = await publishCase(h.api, name, { bTenant, rate, until: warmUntil, tag: `${tag}w` });
    await ctx.receiver.waitFor(warm.accepted, now() + 10_000);
    await ctx.receiver.reset({ mode: 'latency' });
    await h.child.call('loopReset');
    const cpu0 = await h.child.call<number>('cpuUs');
    const until = now() + ms;
    const [b, aPub] = await publishCase(h.api, name, { bTenant, rate, until, tag });
    const s = await ctx.receiver.waitFor(b.accepted, now() + 15_000);
    const lat = (await ctx.receiver.latencies()).fromAccepted.sort((x, y) => x - y);
    const loop = await h.child.call<NonNullable<B6Case['loop']>>('loopDelay');
    // CPU the Hookline process used over the published part, as a share of one core.
    const cpuShare = ((await h.child.call<number>('cpuUs')) - cpu0) / 1000 / (now() - until + ms);
    // A's events of the warm-up are A's too: each must be accounted for.
    const aAccepted = (aWarm?.accepted ?? 0) + (aPub?.accepted ?? 0);
    const aLedger = a && aSub && aPub ? await ledger(ctx, h, aSub, aAccepted, a.count) : undefined;
    return {
      name,
      label,
      sent: b.sent,
      received: s.count,
      p50: percentile(lat, 50),
      p95: percentile(lat, 95),
      p99: percentile(lat, 99),
      max: lat.at(-1) ?? NaN,
      a: aLedger,
      loop: { ...loop, cpuShare },
      timedOut: s.count < b.accepted,
    };
  } finally {
    await a?.close();
    await h.stop();
  }
}

export async function b6Isolation(ctx: BenchContext): Promise<B6Result> {
  const { b6Rate: rate, b6Ms: ms } = ctx.opts.sizes;
  const cases: B6Case[] = [];
  // BENCH_B6_CASES=alone,flood runs a subset (for investigating one case; the table wants all).
  const only = process.env.BENCH_B6_CASES?.split(',').map((c) => c.trim());
  for (const name of ['alone', 'slow', 'hang', '503', 'flood', 'bulk'] as const) {
    if (only && !only.includes(name)) continue;
    ctx.log(`B6 ${name} …`);
    cases.push(await runCase(ctx, name, rate, ms));
  }
  return { rate, durationMs: ms, cases };
}
