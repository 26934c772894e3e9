// Lighter tenants first (issue 18): a tenant whose recent load is far above another's lets that
// one's events go ahead of its own at each step before a send, for at most FAIR_WAIT_MS a step.
//
// What the fair slots and send turns (./slots.ts, ./send-turns.ts) cannot do: a heavy tenant's
// work before its sends (accepting and claiming its events, the fan-out's record writes, the
// in-flight leases of its attempts) and a light tenant's arrive together and share one event loop
// and one Redis. In arrival order, a light tenant's five events wait behind the whole of a
// flood's fifty at every one of those steps (bench B6 (d): B's p50 doubled). Here a heavy
// tenant's step yields first, then waits while a lighter tenant's step is under way in this
// process, so the light one's commands reach Redis and its requests leave first. The heavy one
// loses a few ms a step; nothing is dropped, reordered within a tenant, or held past the bound.
//
// Load: each tenant's events accepted and attempts started, and UNHEALTHY_WEIGHT more for each
// run that delivered nothing (held, to be retried, failed), decayed over LOAD_TAU_MS, plus
// IN_FLIGHT_WEIGHT per attempt under way in this process (a slow or hanging subscriber's
// requests weigh on the process as long as they last). A tenant is heavy when its load is at
// least MIN_HEAVY_LOAD and over HEAVY_RATIO times that of another tenant active in the last
// ACTIVE_MS; it then waits only while a tenant that much lighter has a step under way. Tenants
// of like load never wait for each other (bench B1: ten equal tenants, no waits).
//
// Steps: a call's acceptance (from its claims to its fan-out's record write and the start of its
// attempts, when the fan-out runs in this process: `handOff`/`taken`), and an attempt from its
// start to its answer (its hooks, its request, the response or the verdict to hold). A big
// call's claim chunks take a turn each, CALL_BUDGET × FAIR_WAIT_MS for all of them, and so do its
// fan-out's record slices. A heavy run waits holding its delivery slot (at most FAIR_WAIT_MS); a
// light step never waits for a slot (it begins once it has one). A light tenant whose requests
// hang stops being light: each one under way adds IN_FLIGHT_WEIGHT to its load.

import { Fifo } from './fifo.js';

/** Decay time of a tenant's load, ms: what it did in about the last second. */
export const LOAD_TAU_MS = 1_000;
/** Load an attempt under way adds (per attempt, while it lasts). */
export const IN_FLIGHT_WEIGHT = 10;
/** Load a run that delivers nothing (held, to be retried, failed) adds beyond its own 1. */
export const UNHEALTHY_WEIGHT = 4;
/** Heavy against another tenant: load over this many times the other's. */
export const HEAVY_RATIO = 2;
/** Below this load (events and attempts a second, about) a tenant never waits. */
export const MIN_HEAVY_LOAD = 50;
/** Only tenants with a step begun this recently (ms) count as lighter ones to yield to. */
const ACTIVE_MS = 1_000;
/**
 * How long an accepted call's step waits for its fan-out to take it (ms): the job's fetch, a ms
 * or two here; past it the fan-out runs elsewhere (another process took the job).
 */
export const HANDOFF_MS = 5;
/** What one call's acceptance, and then its fan-out, may wait in all: this many FAIR_WAIT_MS each. */
export const CALL_BUDGET = 5;
/** Heavy steps let go on per event-loop turn after their yield. */
export const YIELD_BATCH = 8;
/** How often the lightest loads are worked out again (and idle tenants forgotten), ms. */
const REFRESH_MS = 50;

interface Load {
  /** Decayed units (events accepted, attempts started) as of `at`. */
  units: number;
  at: number;
  /** Attempts under way. */
  running: number;
  /** Steps under way (accept, fan-out, an attempt up to its send). */
  steps: number;
  /** When its last step began (clock ms). */
  stepAt: number;
}

interface Waiter {
  tenant: string;
  since: number;
  deadline: number;
  resolve: () => void;
  done: boolean;
}

export interface TenantPriority {
  /** A step of `tenant`'s work before a send begins; `units` (events, attempts) add to its load. */
  begin(tenant: string, units: number): void;
  /** The step begun last for `tenant` ended. */
  end(tenant: string): void;
  /** Adds `units` to `tenant`'s load (a run that delivered nothing: UNHEALTHY_WEIGHT). */
  charge(tenant: string, units: number): void;
  /** This process runs a fan-out worker: accepted calls' steps are handed off to it. */
  fanOutHere(): void;
  /** An attempt of `tenant` is under way (it weighs on its load until `stopped`). */
  started(tenant: string): void;
  stopped(tenant: string): void;
  /**
   * An accepted call's steps (one per tenant in it) stay open until its fan-out takes them
   * (`taken`, same key) in this process, or for at most HANDOFF_MS (its fan-out runs elsewhere).
   */
  handOff(key: string, tenants: readonly string[]): void;
  taken(key: string): void;
  /**
   * Undefined when `tenant` may go on now. Else a promise that resolves after one yield, once no
   * tenant lighter by HEAVY_RATIO has a step under way here, or after FAIR_WAIT_MS (or `capMs`).
   */
  turn(tenant: string, capMs?: number): Promise<void> | undefined;
  /**
   * `turn` for the steps of one stage of a call (its claim chunks; its fan-out's record slices):
   * they wait CALL_BUDGET × FAIR_WAIT_MS in all at most, then go on at once.
   */
  turns(tenant: string): () => Promise<void> | undefined;
  /** Heavy steps that waited, and their time waiting (ms): metrics, tests. */
  readonly waits: { count: number; ms: number };
  /** Steps under way, handed-off ones included (tests: 0 once the work is done). */
  readonly open: number;
}

export function createTenantPriority(opts: { maxWaitMs: number; clock?: () => number }): TenantPriority {
  const clock = opts.clock ?? (() => performance.now());
  const waits = { count: 0, ms: 0 };
  if (opts.maxWaitMs <= 0) return off(waits);
  const maxWaitMs = opts.maxWaitMs;
  const loads = new Map<string, Load>();
  /** Tenants with a step under way. */
  const stepping = new Map<string, Load>();
  const handed = new Map<string, { tenants: readonly string[]; timer: NodeJS.Timeout }>();
  const waiters: Waiter[] = [];
  let local = false;
  /** Heavy steps waiting for their yield to end (pump). */
  const yielding = new Fifo<{ tenant: string; load: Load; capMs: number; resolve: () => void }>();
  let pumping = false;
  let timer: NodeJS.Timeout | undefined;
  /** Among tenants active in the last ACTIVE_MS: the lowest and second-lowest loads, whose the lowest. */
  let lowest = Infinity;
  let lowestOf = '';
  let second = Infinity;
  let refreshedAt = -Infinity;

  function loadOf(tenant: string): Load {
    let l = loads.get(tenant);
    if (!l) loads.set(tenant, (l = { units: 0, at: clock(), running: 0, steps: 0, stepAt: -Infinity }));
    return l;
  }

  function score(l: Load, now: number): number {
    if (now > l.at) {
      l.units *= Math.exp((l.at - now) / LOAD_TAU_MS);
      l.at = now;
    }
    return (l.units * 1000) / LOAD_TAU_MS + IN_FLIGHT_WEIGHT * l.running;
  }

  /** The lowest and second-lowest loads of `of` (tenant → load) as [lowest, its tenant, second]. */
  function lows(
    of: Iterable<[string, Load]>,
    now: number,
    activeSince = -Infinity,
  ): [number, string, number] {
    let lo = Infinity;
    let loOf = '';
    let next = Infinity;
    for (const [tenant, l] of of) {
      if (l.stepAt < activeSince && l.steps === 0) continue;
      const sc = score(l, now);
      if (sc < lo) {
        next = lo;
        lo = sc;
        loOf = tenant;
      } else if (sc < next) next = sc;
    }
    return [lo, loOf, next];
  }

  function refresh(now: number): void {
    refreshedAt = now;
    // Idle tenants are forgotten (a tenant's load decays below 0.01 in about 9 s).
    for (const [tenant, l] of loads)
      if (l.running === 0 && l.steps === 0 && score(l, now) < 0.01) loads.delete(tenant);
    [lowest, lowestOf, second] = lows(loads, now, now - ACTIVE_MS);
  }

  /** Whether a tenant lighter than `heavy` by HEAVY_RATIO has a step under way. */
  function lighterStepping(tenant: string, heavy: number, now: number): boolean {
    for (const [t, l] of stepping) if (t !== tenant && HEAVY_RATIO * score(l, now) < heavy) return true;
    return false;
  }

  function wake(): void {
    const now = clock();
    // The lightest two stepping, once: a waiter compares with the lightest not its own tenant.
    const [lo, loOf, next] = lows(stepping, now);
    let i = 0;
    for (const w of waiters) {
      if (w.done) continue;
      const l = loads.get(w.tenant);
      const other = w.tenant === loOf ? next : lo;
      if (now >= w.deadline || !l || !(HEAVY_RATIO * other < score(l, now))) settle(w, now);
      else waiters[i++] = w;
    }
    waiters.length = i;
    arm();
  }

  function settle(w: Waiter, now: number): void {
    w.done = true;
    waits.ms += Math.max(0, now - w.since);
    w.resolve();
  }

  /** One timer, for the earliest deadline (waiters come in deadline order). */
  function arm(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const first = waiters[0];
    if (first) timer = setTimeout(wake, Math.max(1, first.deadline - clock())).unref();
  }

  function end(tenant: string): void {
    const l = loads.get(tenant);
    if (!l || l.steps === 0) return;
    if (--l.steps === 0) {
      stepping.delete(tenant);
      if (waiters.length > 0) wake();
    }
  }

  function turn(tenant: string, capMs = maxWaitMs): Promise<void> | undefined {
    const now = clock();
    if (now - refreshedAt >= REFRESH_MS) refresh(now);
    const l = loads.get(tenant);
    if (!l) return undefined;
    const s = score(l, now);
    const other = lowestOf === tenant ? second : lowest;
    if (s < MIN_HEAVY_LOAD || !(s > HEAVY_RATIO * other)) return undefined;
    // Heavy: first one yield, so that a lighter tenant's work that arrived with this one (its
    // request in the same read of the sockets) begins its step; then wait while one is under way.
    return new Promise<void>((resolve) => {
      yielding.push({ tenant, load: l, capMs, resolve });
      if (!pumping) {
        pumping = true;
        setImmediate(pump);
      }
    });
  }

  /**
   * Heavy steps past their yield, YIELD_BATCH an event-loop turn: a burst of hundreds (a call of
   * 500's attempts) goes on in small groups, with the I/O that arrives between them handled
   * in between, instead of all in one stretch.
   */
  function pump(): void {
    const at = clock();
    for (let n = 0; n < YIELD_BATCH; n++) {
      const y = yielding.shift();
      if (!y) break;
      if (!lighterStepping(y.tenant, score(y.load, at), at)) {
        y.resolve();
        continue;
      }
      waits.count++;
      const deadline = at + Math.min(maxWaitMs, y.capMs);
      waiters.push({ tenant: y.tenant, since: at, deadline, resolve: y.resolve, done: false });
      if (waiters.length === 1) arm();
    }
    if (yielding.length > 0) setImmediate(pump);
    else pumping = false;
  }

  return {
    waits,
    get open() {
      // A handed-off step is still its tenant's step until taken.
      let n = 0;
      for (const l of stepping.values()) n += l.steps;
      return n;
    },
    begin(tenant, units) {
      const l = loadOf(tenant);
      const now = clock();
      // Back after a quiet second (or new): the lightest loads are worked out again at the next turn.
      if (l.steps === 0 && l.stepAt < now - ACTIVE_MS) refreshedAt = -Infinity;
      if (units > 0) {
        score(l, now);
        l.units += units;
      }
      l.stepAt = now;
      if (l.steps++ === 0) stepping.set(tenant, l);
    },
    end,
    charge(tenant, units) {
      const l = loads.get(tenant);
      if (!l) return;
      score(l, clock());
      l.units += units;
    },
    fanOutHere() {
      local = true;
    },
    started(tenant) {
      loadOf(tenant).running++;
    },
    stopped(tenant) {
      const l = loads.get(tenant);
      if (l && l.running > 0) l.running--;
    },
    handOff(key, tenants) {
      // No fan-out in this process (an API-only one): nothing here would take it.
      if (!local) {
        for (const t of tenants) end(t);
        return;
      }
      const timer = setTimeout(
        () => {
          if (handed.get(key)?.timer === timer) handed.delete(key);
          for (const t of tenants) end(t);
        },
        Math.min(maxWaitMs, HANDOFF_MS),
      ).unref();
      handed.set(key, { tenants, timer });
    },
    taken(key) {
      const h = handed.get(key);
      if (!h) return;
      handed.delete(key);
      clearTimeout(h.timer);
      for (const t of h.tenants) end(t);
    },
    turn,
    turns(tenant) {
      let left = CALL_BUDGET * maxWaitMs;
      return () => {
        if (left <= 0) return undefined;
        const w = turn(tenant, left);
        if (!w) return undefined;
        const t0 = clock();
        return w.then(() => {
          left -= clock() - t0;
        });
      };
    },
  };
}

/** FAIR_WAIT_MS=0: nothing is kept, nothing waits. */
function off(waits: { count: number; ms: number }): TenantPriority {
  const none = () => undefined;
  return {
    waits,
    open: 0,
    begin: none,
    end: none,
    charge: none,
    fanOutHere: none,
    started: none,
    stopped: none,
    handOff: none,
    taken: none,
    turn: none,
    turns: () => none,
  };
}

/**
 * The tenants of a call and how many of its events each has: one for a tenant's own call, several
 * for a platform's call that carries events of many. A call of several tenants never waits (it
 * carries a light tenant's events as soon as it carries any), but is a step of each of them.
 */
export function tenantsOf(events: readonly { tenantId: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  let last = '';
  let run = 0;
  for (const e of events) {
    if (e.tenantId === last) {
      run++;
      continue;
    }
    if (run > 0) counts.set(last, (counts.get(last) ?? 0) + run);
    last = e.tenantId;
    run = 1;
  }
  if (run > 0) counts.set(last, (counts.get(last) ?? 0) + run);
  return counts;
}

/**
 * What ties an accepted call (`handOff`) to its fan-out (`taken`): the tenant and id of its first
 * event, the fan-out job's batch[0].
 */
export const handOffKey = (e: { tenantId: string; id: string }) => `${e.tenantId}\n${e.id}`;

/** The steps of one call (accepting it, or its fan-out): one of each tenant in it. */
export interface CallSteps {
  readonly tenants: readonly string[];
  /** The call's turns (before it, between its chunks): a one-tenant call's, unless `wait` is off. */
  readonly between: () => Promise<void> | undefined;
  /** Ends its steps (once; later calls do nothing). */
  readonly end: () => void;
}

/**
 * Begins a call's steps. `units`: its events count in their tenants' loads (accepting; its
 * fan-out counts nothing again). `wait: false`: it never waits (operational events).
 */
export function callSteps(
  prio: TenantPriority,
  events: readonly { tenantId: string }[],
  opts: { units: boolean; wait: boolean },
): CallSteps {
  const counts = tenantsOf(events);
  const tenants = [...counts.keys()];
  for (const [tenant, n] of counts) prio.begin(tenant, opts.units ? n : 0);
  let open = true;
  return {
    tenants,
    between: opts.wait && tenants.length === 1 ? prio.turns(tenants[0]!) : () => undefined,
    end: () => {
      if (open) for (const t of tenants) prio.end(t);
      open = false;
    },
  };
}
