// Command line of `npm run bench`: which phases, how big, where the receiver runs.
import { loadConfig } from '../../src/config.js';
import type { ReceiverPlacement } from './receiver-client.js';

export const PHASES = [
  'noop',
  'bare',
  'bareE2e',
  'undici',
  'B1',
  'B1pg',
  'B1otel',
  'B2',
  'B3',
  'B4',
  'B5',
  'B6',
  'B7',
] as const;
export type Phase = (typeof PHASES)[number];

export interface Options {
  quick: boolean;
  /** Multiplies every count (BENCH_SCALE or --scale); 1 = full run, --quick = 0.05. */
  scale: number;
  phases: Set<Phase>;
  receiver: ReceiverPlacement;
  /** Hookline's LOG_LEVEL in the bench (production default: info, written to /dev/null). */
  logLevel: string;
  /** DELIVERY_CONCURRENCY of Hookline, and the concurrency of every baseline. */
  concurrency: number;
  /** MAX_CONNECTIONS_PER_ORIGIN of Hookline, and the sockets of every baseline Agent. */
  connections: number;
  /** Profile a B1-like run (Hookline and the bare worker) instead of running the suite. */
  profile: boolean;
  /** `--profile --pg`: profile with the PostgreSQL history store. */
  profilePg: boolean;
  /** `--profile --otel`: profile with tracing on. */
  profileOtel: boolean;
  /** B4 under the Redis server's own settings instead of the recommended production ones. */
  redisDefaults: boolean;
  out: string;
  sizes: Sizes;
}

export interface Sizes {
  noopJobs: number;
  bareJobs: number;
  undiciRequests: number;
  b1Events: number;
  b2Rate: number;
  b2Ms: number;
  b3Subscriptions: number;
  b3Reps: number;
  b4Backlog: number;
  b5Warmup: number;
  b5Deliveries: number;
  /** B6: tenant B's events/s, and how long each case publishes (ms). */
  b6Rate: number;
  b6Ms: number;
  /** B6: how long each case's own traffic (B, and A beside it) runs before the measured part (ms). */
  b6WarmMs: number;
  /** B7: delivered events measured per store, after a warm-up of b7Warmup. */
  b7Events: number;
  b7Warmup: number;
  /** B7q: delivery rows in the table when `GET /v1/deliveries?messageId=` is timed, and the calls timed. */
  b7Rows: number;
  b7Queries: number;
  /** Tenants (one subscription each) the throughput phases spread their events over. */
  tenants: number;
  /** Most events in flight (published, not yet received) in the long phases. */
  window: number;
  /** Upper bound of each phase's measured part, ms: a slow build still finishes. */
  budgetMs: Record<'queue' | 'undici' | 'b1' | 'b4' | 'b5' | 'b7', number>;
}

function sizesFor(scale: number, profile: boolean): Sizes {
  const n = (full: number, min: number) => Math.max(min, Math.round(full * scale));
  return {
    noopJobs: n(50_000, 2_000),
    bareJobs: n(50_000, 2_000),
    undiciRequests: n(50_000, 2_000),
    b1Events: n(50_000, 2_000),
    b2Rate: 500,
    b2Ms: scale >= 1 ? 10_000 : 3_000,
    b3Subscriptions: 1_000,
    b3Reps: scale >= 1 ? 4 : 2,
    b4Backlog: n(100_000, 2_000),
    b5Warmup: n(20_000, 1_000),
    b5Deliveries: n(200_000, 5_000),
    b6Rate: 50,
    // 60 s: 2,985 of B's samples a case, so its p99 is the 30th-highest (at 20 s, the 10th moved 2 × run to run).
    b6Ms: scale >= 1 ? 60_000 : 8_000,
    // B's slowest 1 % came mostly from the first 6 s after a 1 s warm-up of B alone (JIT tiers,
    // A's sockets): 18 and 23 of the 30 (alone; beside (d)). BENCH_B6_WARM_MS overrides.
    b6WarmMs: Number(process.env.BENCH_B6_WARM_MS ?? (scale >= 1 ? 10_000 : 2_000)),
    b7Events: n(100_000, 2_000),
    b7Warmup: n(10_000, 500),
    b7Rows: n(1_000_000, 20_000),
    b7Queries: n(2_000, 200),
    tenants: 10,
    window: 20_000,
    // Profiles must cover whole runs (events published but not delivered skew per-delivery costs).
    budgetMs:
      scale >= 1 || profile
        ? { queue: 40_000, undici: 20_000, b1: 60_000, b4: 60_000, b5: 120_000, b7: 180_000 }
        : { queue: 15_000, undici: 10_000, b1: 15_000, b4: 15_000, b5: 20_000, b7: 60_000 },
  };
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i === -1) return undefined;
  const a = argv[i]!;
  if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
  const next = argv[i + 1];
  return next && !next.startsWith('--') ? next : '';
}

export const USAGE = `usage: npm run bench -- [--quick] [--only B1,B3] [--scale 0.2] [--receiver child|inproc]
                       [--log-level info|silent] [--concurrency N] [--connections N] [--profile [--pg|--otel]] [--redis-defaults] [--out file]
  phases: ${PHASES.join(', ')} (B1 and B1pg also run bare and bareE2e, their baselines); BENCH_SCALE=x is --scale x`;

export function parseOptions(argv: string[], env = process.env): Options {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = argv.includes('--quick');
  const scaleRaw = flag(argv, 'scale') ?? env.BENCH_SCALE;
  const scale = scaleRaw ? Number(scaleRaw) : quick ? 0.05 : 1;
  if (!(scale > 0 && scale <= 10)) throw new Error(`bad scale ${scaleRaw}\n${USAGE}`);
  const only = flag(argv, 'only');
  const phases = new Set<Phase>();
  if (only) {
    for (const raw of only.split(',')) {
      const p = PHASES.find((x) => x.toLowerCase() === raw.trim().toLowerCase());
      if (!p) throw new Error(`unknown phase "${raw}"\n${USAGE}`);
      phases.add(p);
    }
    if (phases.has('B1') || phases.has('B1pg')) {
      phases.add('bare');
      phases.add('bareE2e');
    }
  } else PHASES.forEach((p) => phases.add(p));
  const receiver = (flag(argv, 'receiver') ?? 'child') as ReceiverPlacement;
  if (receiver !== 'child' && receiver !== 'inproc') throw new Error(`bad --receiver\n${USAGE}`);
  const defaults = loadConfig({});
  const int = (v: string | undefined, d: number) => (v ? Number.parseInt(v, 10) : d);
  return {
    quick,
    scale,
    phases,
    receiver,
    logLevel: flag(argv, 'log-level') || 'info',
    concurrency: int(flag(argv, 'concurrency'), defaults.DELIVERY_CONCURRENCY),
    connections: int(flag(argv, 'connections'), defaults.MAX_CONNECTIONS_PER_ORIGIN),
    profile: argv.includes('--profile'),
    profilePg: argv.includes('--pg'),
    profileOtel: argv.includes('--otel'),
    redisDefaults: argv.includes('--redis-defaults'),
    out: flag(argv, 'out') || 'bench/results/latest.json',
    sizes: sizesFor(scale, argv.includes('--profile')),
  };
}
