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
// Load: each tenant's events accepted and attempts started, decayed over LOAD_TAU_MS, plus
// IN_FLIGHT_WEIGHT per attempt under way in this process (a slow or hanging subscriber's
// requests weigh on the process as long as they last). A tenant is heavy against another when
// its load is over HEAVY_RATIO times the other's and at least MIN_HEAVY_LOAD: tenants of like
// load never wait for each other (bench B1: ten equal tenants, no waits).

/** Decay time of a tenant's load, ms: what it did in about the last second. */
export const LOAD_TAU_MS = 1_000;
/** Load an attempt under way adds (per attempt, while it lasts). */
export const IN_FLIGHT_WEIGHT = 10;
/** Heavy against another tenant: load over this many times the other's. */
export const HEAVY_RATIO = 2;
/** Below this load (events and attempts a second, about) a tenant never waits. */
export const MIN_HEAVY_LOAD = 20;
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
}

interface Waiter {
  tenant: string;
  deadline: number;
  resolve: () => void;
  done: boolean;
}

export interface TenantPriority {
  /** A step of `tenant`'s work before a send begins; `units` (events, attempts) add to its load. */
  begin(tenant: string, units: number): void;
  /** The step begun last for `tenant` ended. */
  end(tenant: string): void;
  /** An attempt of `tenant` is under way (it weighs on its load until `stopped`). */
  started(tenant: string): void;
  stopped(tenant: string): void;
  /**
   * An accepted call's step stays open until its fan-out takes it (`taken`, same key) in this
   * process, or for at most FAIR_WAIT_MS (its fan-out runs elsewhere).
   */
  handOff(key: string, tenant: string): void;
  taken(key: string): void;
  /**
   * Undefined when `tenant` may go on now. Else a promise that resolves after one yield, once no
   * tenant lighter by HEAVY_RATIO has a step under way here, or after FAIR_WAIT_MS.
   */
  turn(tenant: string): Promise<void> | undefined;
  /** Heavy steps that waited, and their time waiting (ms): metrics, tests. */
  readonly waits: { count: number; ms: number };
}

export function createTenantPriority(opts: { maxWaitMs: number; clock?: () => number }): TenantPriority {
  const clock = opts.clock ?? (() => performance.now());
  const loads = new Map<string, Load>();
  /** Tenants with a step under way. */
  const stepping = new Map<string, Load>();
  const handed = new Map<string, { tenant: string; timer: NodeJS.Timeout }>();
  const waiters: Waiter[] = [];
  const waits = { count: 0, ms: 0 };
  let timer: NodeJS.Timeout | undefined;
  /** The lowest and second-lowest loads, and whose the lowest is, as of `refreshedAt`. */
  let lowest = Infinity;
  let lowestOf = '';
  let second = Infinity;
  let refreshedAt = -Infinity;

  function loadOf(tenant: string): Load {
    let l = loads.get(tenant);
    if (!l) loads.set(tenant, (l = { units: 0, at: clock(), running: 0, steps: 0 }));
    return l;
  }

  function score(l: Load, now: number): number {
    if (now > l.at) {
      l.units *= Math.exp((l.at - now) / LOAD_TAU_MS);
      l.at = now;
    }
    return (l.units * 1000) / LOAD_TAU_MS + IN_FLIGHT_WEIGHT * l.running;
  }

  function refresh(now: number): void {
    refreshedAt = now;
    lowest = second = Infinity;
    lowestOf = '';
    for (const [tenant, l] of loads) {
      const s = score(l, now);
      if (s < 0.01 && l.running === 0 && l.steps === 0) {
        loads.delete(tenant);
        continue;
      }
      if (s < lowest) {
        second = lowest;
        lowest = s;
        lowestOf = tenant;
      } else if (s < second) second = s;
    }
  }

  /** Whether a tenant lighter than `heavy` by HEAVY_RATIO has a step under way. */
  function lighterStepping(tenant: string, heavy: number, now: number): boolean {
    for (const [t, l] of stepping) if (t !== tenant && HEAVY_RATIO * score(l, now) < heavy) return true;
    return false;
  }

  function wake(): void {
    const now = clock();
    let i = 0;
    for (const w of waiters) {
      if (w.done) continue;
      const l = loads.get(w.tenant);
      if (now >= w.deadline || !l || !lighterStepping(w.tenant, score(l, now), now)) settle(w, now);
      else waiters[i++] = w;
    }
    waiters.length = i;
    arm();
  }

  function settle(w: Waiter, now: number): void {
    w.done = true;
    waits.ms += Math.max(0, now - (w.deadline - opts.maxWaitMs));
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

  return {
    waits,
    begin(tenant, units) {
      const l = loadOf(tenant);
      if (units > 0) {
        score(l, clock());
        l.units += units;
      }
      if (l.steps++ === 0) stepping.set(tenant, l);
    },
    end,
    started(tenant) {
      loadOf(tenant).running++;
    },
    stopped(tenant) {
      const l = loads.get(tenant);
      if (l && l.running > 0) l.running--;
    },
    handOff(key, tenant) {
      if (opts.maxWaitMs <= 0) return end(tenant);
      const timer = setTimeout(() => {
        handed.delete(key);
        end(tenant);
      }, opts.maxWaitMs).unref();
      handed.set(key, { tenant, timer });
    },
    taken(key) {
      const h = handed.get(key);
      if (!h) return;
      handed.delete(key);
      clearTimeout(h.timer);
      end(h.tenant);
    },
    turn(tenant) {
      if (opts.maxWaitMs <= 0) return undefined;
      const now = clock();
      if (now - refreshedAt >= REFRESH_MS) refresh(now);
      const l = loads.get(tenant);
      if (!l) return undefined;
      const s = score(l, now);
      const other = lowestOf === tenant ? second : lowest;
      if (s < MIN_HEAVY_LOAD || !(s > HEAVY_RATIO * other)) return undefined;
      // Heavy: first one yield, so that a lighter tenant's work that arrived with this one (its
      // request in the same read of the sockets) begins its step; then wait while one is under way.
      return new Promise<void>((resolve) =>
        setImmediate(() => {
          const at = clock();
          if (!lighterStepping(tenant, score(l, at), at)) return resolve();
          waits.count++;
          waiters.push({ tenant, deadline: at + opts.maxWaitMs, resolve, done: false });
          if (waiters.length === 1) arm();
        }),
      );
    },
  };
}
