// Summarises a V8 .cpuprofile (node --cpu-prof): where the busy time went, by function and by
// module (self and inclusive), with Hookline's own files named one by one.
// CLI: npx tsx bench/profile-summary.ts <file.cpuprofile> [top=25]
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Entry {
  name: string;
  ms: number;
  pct: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  /** Self time per function, busy time only. */
  selfFunctions: Entry[];
  /** Self time per module group. */
  selfGroups: Entry[];
  /** Time with a module group anywhere on the stack. */
  inclusiveGroups: Entry[];
  /** Time with each Hookline (src/, workers/) function on the stack. */
  inclusiveHookline: Entry[];
  /** Named costs worth acting on (overlapping: a sample can count in several). */
  spots: Entry[];
}

/** A named cost: the sample's stack (leaf first) matches. */
interface Spot {
  name: string;
  match(stack: CallFrame[]): boolean;
}

const on = (stack: CallFrame[], test: (f: CallFrame, g: string) => boolean) =>
  stack.some((f) => test(f, groupOf(f)));
const fn = (name: string, file: string) => (f: CallFrame, g: string) =>
  f.functionName === name && g.includes(file);

export const SPOTS: Spot[] = [
  { name: 'garbage collection', match: (s) => s[0]!.functionName === '(garbage collector)' },
  {
    name: 'ioredis: new Pipeline (copies every defined script)',
    match: (s) => on(s, fn('Pipeline', 'ioredis')),
  },
  {
    name: 'ioredis: socket writes to Redis (syscalls)',
    match: (s) =>
      /^write|^writev$|^writeUtf8String$|^writeBuffer$/.test(s[0]!.functionName) &&
      on(s, (_, g) => g === 'npm:ioredis'),
  },
  {
    name: 'ioredis: reply parsing',
    match: (s) => on(s, (f, g) => g === 'npm:ioredis' && /resp|DataHandler|decoder/.test(f.url)),
  },
  {
    name: 'BullMQ: job (de)serialisation (fromJSON, asJSON, msgpackr)',
    match: (s) =>
      on(
        s,
        (f, g) =>
          g === 'npm:msgpackr' ||
          (g === 'npm:bullmq' && /^(fromJSON|asJSON|optsFromJSON|optsAsJSON)$/.test(f.functionName)),
      ),
  },
  {
    name: 'pino: logging (incl. redaction)',
    match: (s) => on(s, (_, g) => g === 'npm:pino' || g === 'npm:@pinojs/redact' || g === 'npm:sonic-boom'),
  },
  { name: 'undici: HTTP to the receiver', match: (s) => on(s, (_, g) => g === 'npm:undici') },
  {
    name: 'fastify: API requests (publish)',
    match: (s) => on(s, (_, g) => g === 'npm:fastify' || g.startsWith('src/api/')),
  },
  {
    name: 'crypto: HMAC signatures and ids',
    match: (s) => on(s, (_, g) => g === 'node:internal/crypto' || g === 'node:crypto'),
  },
  { name: 'prom-client: metrics', match: (s) => on(s, (_, g) => g === 'npm:prom-client') },
  { name: 'Hookline: fanOut', match: (s) => on(s, fn('fanOut', 'src/queue/fanout.ts')) },
  {
    // Both paths: a delivery job (processDelivery) and a fan-out's direct first attempt.
    name: 'Hookline: deliverOnce',
    match: (s) => on(s, fn('deliverOnce', 'src/delivery/process-delivery.ts')),
  },
  {
    name: 'Hookline: recordAttempt',
    match: (s) => on(s, fn('recordAttempt', 'src/store/delivery-store.ts')),
  },
  {
    name: 'Hookline: attempt (build, sign, send, read)',
    match: (s) => on(s, fn('attempt', 'src/delivery/attempt.ts')),
  },
  {
    name: 'Hookline: delivery hooks (breaker, rate limit, metrics)',
    match: (s) =>
      on(s, (f, g) => /^(beforeAttempt|afterAttempt)$/.test(f.functionName) && g.startsWith('src/')),
  },
];

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Which module a frame belongs to: a Hookline file, an npm package, Node internals, or V8. */
export function groupOf(f: CallFrame): string {
  if (!f.url) {
    if (f.functionName.startsWith('(')) return f.functionName;
    return '(native)';
  }
  const url = f.url.startsWith('file://') ? fileURLToPath(f.url) : f.url;
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/').slice(0, 2).join('/')}`;
  if (url.startsWith(ROOT)) return url.slice(ROOT.length);
  return url;
}

const isHookline = (g: string) => g.startsWith('src/') || g.startsWith('workers/');

/** `name file:line`; npm frames name the file inside the package (tsx output has no useful lines). */
function label(f: CallFrame): string {
  const name = f.functionName || '(anonymous)';
  const g = groupOf(f);
  if (g.startsWith('(')) return name === g ? g : `${name} ${g}`;
  const nm = f.url.lastIndexOf('node_modules/');
  const where = nm !== -1 ? f.url.slice(nm + 'node_modules/'.length) : g;
  return f.lineNumber > 0 ? `${name} ${where}:${f.lineNumber + 1}` : `${name} ${where}`;
}

/** Samples outside [fromUs, toUs] (V8's monotonic clock, process.hrtime) are left out. */
export interface Window {
  fromUs: number;
  toUs: number;
}

export function summarise(p: CpuProfile, top = 25, window?: Window): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const selfGroup = new Map<string, number>();
  const inclGroup = new Map<string, number>();
  const inclHook = new Map<string, number>();
  const spots = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  let total = 0;
  let idle = 0;
  let at = p.startTime;
  p.samples.forEach((id, i) => {
    at += p.timeDeltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    const dt = (p.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const leaf = byId.get(id)!;
    if (leaf.callFrame.functionName === '(idle)') {
      idle += dt;
      return;
    }
    add(self, label(leaf.callFrame), dt);
    add(selfGroup, groupOf(leaf.callFrame), dt);
    const groups = new Set<string>();
    const fns = new Set<string>();
    const stack: CallFrame[] = [];
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const f = byId.get(n)!.callFrame;
      stack.push(f);
      const g = groupOf(f);
      groups.add(g);
      if (isHookline(g)) fns.add(label(f));
    }
    for (const spot of SPOTS) if (spot.match(stack)) add(spots, spot.name, dt);
    for (const g of groups) add(inclGroup, g, dt);
    for (const f of fns) add(inclHook, f, dt);
  });
  const busy = total - idle;
  const list = (m: Map<string, number>, n = top): Entry[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), pct: Math.round((ms / busy) * 1000) / 10 }));
  return {
    totalMs: Math.round(total),
    idleMs: Math.round(idle),
    busyMs: Math.round(busy),
    selfFunctions: list(self),
    selfGroups: list(selfGroup),
    inclusiveGroups: list(inclGroup).filter((e) => e.name !== '(root)'),
    inclusiveHookline: list(inclHook, top * 2),
    spots: SPOTS.map((x) => x.name)
      .filter((n) => spots.has(n))
      .map((n) => ({
        name: n,
        ms: Math.round(spots.get(n)!),
        pct: Math.round((spots.get(n)! / busy) * 1000) / 10,
      })),
  };
}

export async function summariseFile(path: string, top = 25, window?: Window): Promise<ProfileSummary> {
  return summarise(JSON.parse(await readFile(path, 'utf8')) as CpuProfile, top, window);
}

/** With `items` (deliveries in the window), each line also shows µs of CPU per item. */
export function formatSummary(title: string, s: ProfileSummary, items?: number): string {
  const perItem = (ms: number) =>
    items ? `${String(Math.round((ms * 1000) / items)).padStart(6)} µs  ` : '';
  const block = (head: string, es: Entry[]) =>
    [
      `  ${head}`,
      ...es.map(
        (e) =>
          `    ${e.pct.toFixed(1).padStart(5)} %  ${String(e.ms).padStart(6)} ms  ${perItem(e.ms)}${e.name}`,
      ),
    ].join('\n');
  return [
    `${title}: ${s.busyMs} ms busy of ${s.totalMs} ms sampled (${Math.round((s.busyMs / s.totalMs) * 100)} % CPU)` +
      `${items ? `, ${Math.round((s.busyMs * 1000) / items)} µs per item` : ''}; % of busy time`,
    block('named costs (overlapping)', s.spots),
    block('self time by module', s.selfGroups),
    block('inclusive time by module (on the stack)', s.inclusiveGroups),
    block('inclusive time by Hookline function', s.inclusiveHookline),
    block('self time by function', s.selfFunctions),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(formatSummary(file, await summariseFile(file, top ? Number(top) : 25)));
}
