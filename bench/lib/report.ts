// Turns phase results into the printed table, the PASS/FAIL verdicts and latest.json.
import { cpus, totalmem, type as osType, release } from 'node:os';
import type { B4Result, B5Result } from '../phases/resources.js';
import type { RateResult } from '../phases/baselines.js';
import type { B1Result, B2Result, B3Result } from '../phases/hookline.js';
import type { B1PgResult, B7Result, B7Store } from '../phases/history.js';
import { aAccounted, type B6Result } from '../phases/isolation.js';
import type { B1OtelResult } from '../phases/tracing.js';
import { machineCores } from './machine-cpu.js';
import type { Options } from './options.js';

export interface Results {
  noop?: RateResult;
  bare?: RateResult;
  /** The bare worker end to end: its jobs added (addBulk of 500) while it runs. */
  bareE2e?: RateResult;
  undici?: RateResult;
  B1?: B1Result;
  B1pg?: B1PgResult;
  B1otel?: B1OtelResult;
  B2?: B2Result;
  B3?: B3Result;
  B4?: B4Result;
  B5?: B5Result;
  B6?: B6Result;
  B7?: B7Result;
  errors: Record<string, string>;
}

export type Verdict = 'PASS' | 'FAIL' | 'n/a';

export interface Row {
  phase: string;
  measure: string;
  result: string;
  target: string;
  verdict: Verdict | '';
}

/** Targets from issue 9, and (B1pg, B7) issue 17. */
export const TARGETS = {
  b1Ratio: 0.8,
  b1PgRatio: 1.0,
  /** B1 with tracing on (sampler 1.0, exporting) × B1 with it off, same run (issue 21). */
  b1OtelRatio: 0.85,
  b2P99Ms: 50,
  b3Ms: 1000,
  b4OverheadBytes: 1536,
  b5GrowthPct: 10,
  /** B's p99 with a troubled or flooding tenant A beside it, × B's p99 alone in the same run (issue 18). */
  b6P99Ratio: 1.5,
  /** Redis bytes retained per delivered event, idempotency claim included, by history store. */
  b7RedisBytes: { postgresql: 100, redis: 800 },
  /** PostgreSQL bytes per delivered event, indexes included (an aim, reported). */
  b7PgBytes: 600,
  /** GET /v1/deliveries?messageId= p99 with this many delivery rows in the table. */
  b7qP99Ms: 20,
  b7qRows: 1_000_000,
};

const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const ms = (x: number) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(1) : Math.round(x)} ms` : '—');
const mb = (x: number) => `${(x / 1024 / 1024).toFixed(1)} MB`;
const verdict = (ok: boolean | undefined): Verdict => (ok === undefined ? 'n/a' : ok ? 'PASS' : 'FAIL');
const timedOut = (r: { timedOut: boolean }) => (r.timedOut ? ' — TIMED OUT, partial' : '');

export function b1Ratio(r: Results, b1 = r.B1): number {
  return b1 && r.bare ? b1.perSecond / r.bare.perSecond : NaN;
}

/** B1's (or B1pg's) rate as a ratio to the bare worker end to end (its jobs added as it runs). */
export function b1E2eRatio(r: Results, b1 = r.B1): number {
  return b1 && r.bareE2e ? b1.perSecond / r.bareE2e.perSecond : NaN;
}

/** `, 0.71 × bare end to end` when measured. */
const e2e = (x: number) => (Number.isFinite(x) ? `, ${x.toFixed(2)} × bare end to end` : '');

/** The Redis settings B4 ran under, and the server's own where it differed. */
function redisSettings(r: B4Result): string {
  return Object.entries(r.redisSettings ?? {})
    .map(([name, { used, server }]) => `${name} ${used}${used === server ? '' : ` (server: ${server})`}`)
    .join(', ');
}

export function b4Budget(r: B4Result): number {
  return TARGETS.b4OverheadBytes + r.eventJsonBytes;
}

/** ` = r × bare` when both costs are known. */
const timesBare = (x?: number, bare?: number) => (x && bare ? ` = ${(x / bare).toFixed(1)} × bare` : '');

/**
 * The process's CPU per item and the Redis server's beside it (what all worker processes
 * together share), each as a ratio to `bare`'s when given.
 */
const cpu = (x: RateResult, bare?: RateResult) =>
  x.cpuUsPerItem !== undefined && Number.isFinite(x.cpuUsPerItem)
    ? `, ${int(x.cpuUsPerItem)} µs CPU each${timesBare(x.cpuUsPerItem, bare?.cpuUsPerItem)}` +
      (x.redisCpuUsPerItem !== undefined && Number.isFinite(x.redisCpuUsPerItem)
        ? ` + ${int(x.redisCpuUsPerItem)} µs of Redis${timesBare(x.redisCpuUsPerItem, bare?.redisCpuUsPerItem)}`
        : '') +
      (x.machineCpuUsPerItem !== undefined && Number.isFinite(x.machineCpuUsPerItem)
        ? `; machine ${int(x.machineCpuUsPerItem)} µs${timesBare(x.machineCpuUsPerItem, bare?.machineCpuUsPerItem)}`
        : '')
    : '';

/**
 * The most `b1` could deliver with every core of the machine busy at its whole-machine cost per
 * delivery, as a ratio to the bare worker's rate: a bound no tuning of where the work runs
 * (more processes, threads) can pass, only doing less of it.
 */
export function machineCeiling(r: Results, b1 = r.B1): number {
  const cost = b1?.machineCpuUsPerItem;
  return cost && r.bare ? (machineCores() * 1e6) / cost / r.bare.perSecond : NaN;
}

/** `; ceiling 0.62 × bare (2 cores busy)` when measured. */
const ceiling = (x: number) =>
  Number.isFinite(x) ? `; ceiling ${x.toFixed(2)} × bare with ${machineCores()} cores busy` : '';

export function rows(r: Results): Row[] {
  const out: Row[] = [];
  const runs = (x: RateResult) => (x.runs ? `, runs ${x.runs.map(int).join(' & ')}` : '');
  const rateRow = (phase: string, measure: string, x: RateResult) =>
    out.push({
      phase,
      measure,
      result: `${int(x.perSecond)}/s (steady ${int(x.steadyPerSecond)}/s, n=${int(x.count)}${runs(x)}${cpu(x)})${timedOut(x)}`,
      target: 'baseline',
      verdict: '',
    });
  if (r.noop) rateRow('base', 'BullMQ no-op jobs', r.noop);
  if (r.bare) rateRow('base', 'bare BullMQ + undici worker', r.bare);
  if (r.bareE2e)
    rateRow('base', 'bare worker end to end (jobs added in batches of 500 as it runs)', r.bareE2e);
  if (r.undici) rateRow('base', 'raw undici requests (no queue)', r.undici);
  if (r.B1) {
    const ratio = b1Ratio(r);
    out.push({
      phase: 'B1',
      measure: 'end-to-end deliveries (publish → fan-out → 2xx)',
      result:
        `${int(r.B1.perSecond)}/s = ${Number.isFinite(ratio) ? ratio.toFixed(2) : '—'} × bare${e2e(b1E2eRatio(r))} ` +
        `(steady ${int(r.B1.steadyPerSecond)}/s, n=${int(r.B1.count)}${cpu(r.B1, r.bare)}${ceiling(machineCeiling(r))})${timedOut(r.B1)}`,
      target: `≥ ${TARGETS.b1Ratio} × bare`,
      // A timed-out B1 is judged on what arrived in its budget (its rate is still a rate).
      verdict: verdict(Number.isFinite(ratio) ? ratio >= TARGETS.b1Ratio : undefined),
    });
  }
  if (r.B1otel) {
    const x = r.B1otel;
    const e = x.exports;
    out.push({
      phase: 'B1otel',
      measure: 'B1 with tracing on (sampler 1.0, OTLP http/protobuf to a local collector) vs off',
      result:
        `${int(x.on.perSecond)}/s vs ${int(x.off.perSecond)}/s off = ${Number.isFinite(x.ratio) ? x.ratio.toFixed(2) : '—'} × ` +
        `(${cpu(x.on).slice(2) || 'CPU —'} on, ${cpu(x.off).slice(2) || 'CPU —'} off; ` +
        `${int(e.deliverSpans)} deliver spans for ${int(x.on.count)} deliveries, ${int(e.requests)} exports, ` +
        `${mb(e.bytes)})${timedOut(x.on)}${timedOut(x.off)}`,
      target: `≥ ${TARGETS.b1OtelRatio} × off`,
      verdict: verdict(Number.isFinite(x.ratio) ? x.ratio >= TARGETS.b1OtelRatio : undefined),
    });
  }
  if (r.B1pg) {
    const x = r.B1pg;
    const ratio = b1Ratio(r, x);
    out.push({
      phase: 'B1pg',
      measure: 'B1 with the PostgreSQL history (DATABASE_URL)',
      result:
        `${int(x.perSecond)}/s = ${Number.isFinite(ratio) ? ratio.toFixed(2) : '—'} × bare${e2e(b1E2eRatio(r, x))} ` +
        `(steady ${int(x.steadyPerSecond)}/s, n=${int(x.count)}${cpu(x, r.bare)}${ceiling(machineCeiling(r, x))}, ${int(x.cpuUsPerItemMoved)} µs with the move; ` +
        `all moved ${Number.isFinite(x.drainMs) ? ms(x.drainMs) : 'NOT in 60 s'} after the last delivery, ${int(x.moved)} rows)${timedOut(x)}`,
      target: `≥ ${TARGETS.b1PgRatio.toFixed(1)} × bare`,
      verdict: verdict(Number.isFinite(ratio) ? ratio >= TARGETS.b1PgRatio : undefined),
    });
  }
  if (r.B2) {
    out.push({
      phase: 'B2',
      measure: `latency accepted → received, p50 / p95 / p99 at ${r.B2.rate} events/s`,
      result:
        `${ms(r.B2.p50)} / ${ms(r.B2.p95)} / ${ms(r.B2.p99)} (max ${ms(r.B2.max)}, n=${int(r.B2.received)}; ` +
        `from publish start ${ms(r.B2.fromPublish.p50)} / ${ms(r.B2.fromPublish.p95)} / ${ms(r.B2.fromPublish.p99)})${timedOut(r.B2)}`,
      target: `p99 ≤ ${TARGETS.b2P99Ms} ms`,
      verdict: verdict(r.B2.timedOut ? false : r.B2.p99 <= TARGETS.b2P99Ms),
    });
  }
  if (r.B3) {
    out.push({
      phase: 'B3',
      measure: `one event → ${int(r.B3.subscriptions)} subscriptions, all delivered`,
      result: `${ms(r.B3.warmMedianMs)} (cold cache ${ms(r.B3.coldMs)}; runs ${r.B3.runsMs.map((x) => Math.round(x)).join(', ')})${timedOut(r.B3)}`,
      target: `≤ ${TARGETS.b3Ms} ms`,
      verdict: verdict(r.B3.timedOut ? false : r.B3.warmMedianMs <= TARGETS.b3Ms),
    });
  }
  if (r.B4) {
    out.push({
      phase: 'B4',
      measure:
        `Redis per queued delivery, receiver down (${int(r.B4.deliveries)} backlog` +
        `${r.B4.backlog < r.B4.requested ? ` of ${int(r.B4.requested)}: time budget` : ''})`,
      result: `${int(r.B4.bytesPerDelivery)} B (event ${int(r.B4.eventJsonBytes)} B; used_memory Δ ${int(r.B4.usedMemoryPerDelivery)} B; ${redisSettings(r.B4)})${timedOut(r.B4)}`,
      target: `≤ 1536 + ${int(r.B4.eventJsonBytes)} B`,
      // Unsettled (timed out) still measures bytes per queued delivery; the row says so.
      verdict: verdict(r.B4.bytesPerDelivery <= b4Budget(r.B4)),
    });
  }
  if (r.B5) {
    out.push({
      phase: 'B5',
      measure: `worker RSS after ${int(r.B5.received)} deliveries (warm-up ${int(r.B5.warmup)})`,
      result:
        `${r.B5.rssGrowthPct >= 0 ? '+' : ''}${r.B5.rssGrowthPct} % (${mb(r.B5.before.rss)} → ${mb(r.B5.after.rss)}, ` +
        `peak ${mb(r.B5.peakRss)}; heap ${r.B5.heapGrowthPct >= 0 ? '+' : ''}${r.B5.heapGrowthPct} %; ${int(r.B5.perSecond)}/s)${timedOut(r.B5)}`,
      target: `≤ ${TARGETS.b5GrowthPct} %`,
      // Judged on the deliveries made within the budget; the row says how many when short.
      verdict: verdict(r.B5.rssGrowthPct <= TARGETS.b5GrowthPct),
    });
  }
  if (r.B6) out.push(...b6Rows(r.B6));
  if (r.B7) out.push(...b7Rows(r.B7));
  for (const [phase, message] of Object.entries(r.errors))
    out.push({
      phase,
      measure: 'error',
      result: message.split('\n')[0]!.slice(0, 120),
      target: '',
      verdict: 'FAIL',
    });
  return out;
}

function b6Rows(r: B6Result): Row[] {
  const alone = r.cases.find((c) => c.name === 'alone');
  const lat = (c: B6Result['cases'][number]) =>
    `${ms(c.p50)} / ${ms(c.p95)} / ${ms(c.p99)} (max ${ms(c.max)}, n=${int(c.received)} of ${int(c.sent)}` +
    `${c.loop ? `; Hookline event-loop delay p99 ${ms(c.loop.p99)}, max ${ms(c.loop.max)}` : ''}` +
    `${c.loop?.cpuShare !== undefined ? `, CPU ${Math.round(c.loop.cpuShare * 100)} % of a core` : ''})`;
  return r.cases.map((c): Row => {
    if (c.name === 'alone')
      return {
        phase: 'B6',
        measure: `B alone, ${r.rate} events/s for ${r.durationMs / 1000} s: p50 / p95 / p99 accepted → received`,
        result: `${lat(c)}${timedOut(c)}`,
        target: 'baseline',
        verdict: '',
      };
    const ratio = alone ? c.p99 / alone.p99 : NaN;
    const a = c.a;
    const ledger = a
      ? `; A: ${int(a.accepted)} accepted, ${int(a.records)} records: ${int(a.succeeded)} succeeded, ` +
        `${int(a.retrying)} retrying (queued), ${int(a.pending)} pending, ${int(a.failed)} failed` +
        `${a.retryingUnqueued + a.other > 0 ? `, ${int(a.retryingUnqueued + a.other)} LOST` : ''}; ${int(a.requests)} requests`
      : '';
    const ok = !c.timedOut && Number.isFinite(ratio) && ratio <= TARGETS.b6P99Ratio && !!a && aAccounted(a);
    return {
      phase: 'B6',
      measure: `B with ${c.label}`,
      result: `${lat(c)} = ${Number.isFinite(ratio) ? ratio.toFixed(2) : '—'} × alone${ledger}${timedOut(c)}`,
      target: `p99 ≤ ${TARGETS.b6P99Ratio} × alone; A none lost or failed`,
      verdict: verdict(ok),
    };
  });
}

const storeName = (s: B7Store) => (s.store === 'postgresql' ? 'PostgreSQL' : 'Redis');

function b7Rows(r: B7Result): Row[] {
  const out: Row[] = [];
  for (const s of r.stores) {
    const limit = TARGETS.b7RedisBytes[s.store];
    const left =
      s.store === 'postgresql'
        ? `; left in Redis: ${int(s.leftover.deliveryRecords)} records, ${int(s.leftover.events)} events, ${int(s.leftover.outboxEntries)} outbox entries`
        : '';
    out.push({
      phase: 'B7',
      measure: `Redis bytes per delivered event retained, ${storeName(s)} history (${int(s.events)} events of ${r.eventBytes} B)`,
      result: `${int(s.usedMemoryPerEvent)} B used_memory Δ (keys' MEMORY USAGE ${int(s.keyBytesPerEvent)} B${left})${timedOut(s)}`,
      target: `≤ ${limit} B`,
      verdict: verdict(s.usedMemoryPerEvent <= limit),
    });
    if (s.pg)
      out.push({
        phase: 'B7',
        measure: 'PostgreSQL bytes per delivered event (events + deliveries partitions, indexes included)',
        result: `${int(s.pg.bytesPerEvent)} B (${s.pg.parts
          .filter((p) => p.bytesPerEvent !== 0)
          .map((p) => `${p.name} ${p.kind === 'index' ? '' : 'heap '}${int(p.bytesPerEvent)}`)
          .join(', ')})`,
        target: `aim ≤ ${TARGETS.b7PgBytes} B`,
        verdict: verdict(s.pg.bytesPerEvent <= TARGETS.b7PgBytes),
      });
  }
  if (r.query) {
    const q = r.query;
    const full = q.rows >= TARGETS.b7qRows;
    out.push({
      phase: 'B7q',
      measure: `GET /v1/deliveries?messageId= over HTTP, ${int(q.rows)} delivery rows, ${int(q.queries)} calls`,
      result: `p50 ${ms(q.p50)}, p99 ${ms(q.p99)}, max ${ms(q.max)}${full ? '' : ` (fewer than ${int(TARGETS.b7qRows)} rows: not judged)`}`,
      target: `p99 ≤ ${TARGETS.b7qP99Ms} ms at ${int(TARGETS.b7qRows)} rows`,
      verdict: full ? verdict(q.p99 <= TARGETS.b7qP99Ms) : 'n/a',
    });
  }
  return out;
}

/** B7's Redis bytes by key role, per store, with one key of each role described. */
export function b7Breakdown(r: B7Result): string {
  const lines = [
    `B7 Redis bytes per delivered event by key (private redis-server ${r.redisVersion}, ` +
      `${Object.entries(r.redisSettings)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}; event ${r.eventBytes} B as published):`,
  ];
  for (const s of r.stores) {
    const keys = Object.values(s.byClass).reduce((n, c) => n + c.bytesPerEvent, 0);
    lines.push(
      `  ${storeName(s)} history: used_memory Δ ${s.usedMemoryPerEvent} B = keys ${round1(keys)} B + ` +
        `${round1(s.usedMemoryPerEvent - keys)} B outside MEMORY USAGE (keyspace and expiry dict entries, allocator)`,
    );
    for (const [cls, c] of Object.entries(s.byClass)
      .filter(([, c]) => c.bytesPerEvent !== 0 || c.keys !== 0)
      .sort((a, b) => b[1].bytesPerEvent - a[1].bytesPerEvent)) {
      const e = s.examples[cls];
      const ex = e
        ? ` e.g. ${e.bytes} B ${e.type}/${e.encoding} len ${e.length} ttl ${e.ttl === -1 ? 'none' : `${e.ttl} s`}, key ${e.key.length} chars`
        : '';
      lines.push(
        `    ${String(c.bytesPerEvent).padStart(7)} B  ${cls} (+${c.keys.toLocaleString('en-US')} keys, ${c.bytesPerKey} B/key;${ex})`,
      );
    }
  }
  return lines.join('\n');
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export function table(rs: Row[]): string {
  const head: Row = { phase: 'phase', measure: 'measure', result: 'result', target: 'target', verdict: '' };
  const cols = ['phase', 'measure', 'result', 'target', 'verdict'] as const;
  const width = cols.map((c) => Math.max(...[head, ...rs].map((r) => r[c].length)));
  const line = (r: Row) => `| ${cols.map((c, i) => r[c].padEnd(width[i]!)).join(' | ')} |`;
  const sep = `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(head), sep, ...rs.map(line)].join('\n');
}

export function breakdown(r: B4Result): string {
  const lines = Object.entries(r.byClass)
    .filter(([, c]) => c.bytesPerDelivery !== 0)
    .sort((a, b) => b[1].bytesPerDelivery - a[1].bytesPerDelivery)
    .map(
      ([cls, c]) =>
        `  ${String(c.bytesPerDelivery).padStart(6)} B  ${cls} (${c.keys.toLocaleString('en-US')} keys)`,
    );
  return [`B4 bytes per delivery by key (job data ${r.jobDataBytes} B):`, ...lines].join('\n');
}

export function machine(redisVersion: string) {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    totalMemoryBytes: totalmem(),
    os: `${osType()} ${release()}`,
    node: process.version,
    redis: redisVersion,
  };
}

export function json(opts: Options, r: Results, redisVersion: string, startedAt: Date) {
  const rs = rows(r);
  return {
    date: startedAt.toISOString(),
    durationSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
    machine: machine(redisVersion),
    options: {
      quick: opts.quick,
      scale: opts.scale,
      phases: [...opts.phases],
      receiver: opts.receiver,
      logLevel: opts.logLevel,
      deliveryConcurrency: opts.concurrency,
      connectionsPerOrigin: opts.connections,
      sizes: opts.sizes,
    },
    targets: rs
      .filter((x) => x.verdict !== '')
      .map(({ phase, target, verdict: v, result }) => ({
        phase,
        target,
        verdict: v,
        result,
      })),
    table: rs,
    results: {
      ...r,
      B1ratio: b1Ratio(r),
      B1pgRatio: b1Ratio(r, r.B1pg),
      B1Ceiling: machineCeiling(r),
      B1pgCeiling: machineCeiling(r, r.B1pg),
      B1e2eRatio: b1E2eRatio(r),
      B1pgE2eRatio: b1E2eRatio(r, r.B1pg),
    },
  };
}
