// The per-subscription in-flight cap (`maxInFlight`), counted in Redis for every worker process
// together. Each request under way holds a lease: a member of the subscription's lease set whose
// score is its expiry, renewed by the holding process while the request runs, so a killed
// process's requests stop counting once their leases expire (IN_FLIGHT_LEASE_MS). A delivery over
// the cap is parked in the subscription's parked set in arrival order; a lease given back (or
// found expired by a sweep) is handed to the oldest parked delivery, whose job the caller wakes.
// Scripts: src/redis/lua/inflight-{acquire,release,renew}.lua.
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/client.js';
import { defineScripts, luaScript, runScripts } from '../redis/scripts.js';
import { tickBatcher } from '../store/batcher.js';

/** Per item: leases, parked (after the two index sets); its delivery id, cap and subscription. */
const ACQUIRE = luaScript<string[], (string | number)[], [0 | 1, ...string[]][]>('inflight-acquire');
const RELEASE = luaScript<string[], (string | number)[], string[][]>('inflight-release');
const RENEW = luaScript<[leases: string], [leaseMs: number, ...ids: string[]], number>('inflight-renew');

/** How long a parked set outlives its last arrival (parked deliveries re-park when they wake). */
const PARKED_TTL_MS = 24 * 3_600_000;

export interface InFlightOptions {
  /** Lease of one request; renewed every quarter of it while the request is under way. */
  leaseMs: number;
  /**
   * Renewals stop after this long (a run that never gave its lease back: a bug, not a request).
   * Default 5 minutes, past the longest attempt.
   */
  maxHoldMs?: number;
}

/** go: leased (send now). handed: other deliveries of the subscription given a lease meanwhile. */
export interface CapVerdict {
  go: boolean;
  handed: string[];
}

export interface InFlightSnapshot {
  /** Deliveries parked, every subscription read (at most `limit` of them). */
  parkedTotal: number;
  /** [subscription id, count], highest first, at most `top`. */
  parked: [string, number][];
  inFlight: [string, number][];
}

/** A subscription's calls stay together; a light one's go first (src/store/batcher.ts). */
const BY_SUBSCRIPTION = { groupOf: (c: { subId: string }) => c.subId };

export function createInFlightCap(redis: Redis, keys: Keys, opts: InFlightOptions) {
  const { leaseMs } = opts;
  const maxHoldMs = opts.maxHoldMs ?? 5 * 60_000;
  /** subscription id → delivery id → when this process took its lease (renewed on a timer). */
  const held = new Map<string, Map<string, number>>();
  let renewTimer: NodeJS.Timeout | undefined;

  async function renew(): Promise<void> {
    if (held.size === 0) return;
    defineScripts(redis, RENEW);
    const pipe = redis.pipeline();
    const oldest = Date.now() - maxHoldMs;
    for (const [subId, ids] of held) {
      for (const [id, since] of ids) if (since < oldest) forget(subId, id);
      if (ids.size > 0) RENEW.queue(pipe, [keys.inFlight(subId)], [leaseMs, ...ids.keys()]);
    }
    await pipe.exec();
  }

  function keep(subId: string, deliveryId: string): void {
    let ids = held.get(subId);
    if (!ids) held.set(subId, (ids = new Map()));
    ids.set(deliveryId, Date.now());
    // A lost renewal round is retried by the next; the lease has three more rounds to spare.
    renewTimer ??= setInterval(() => void renew().catch(() => undefined), leaseMs / 4).unref();
  }

  function forget(subId: string, deliveryId: string): boolean {
    const ids = held.get(subId);
    if (!ids?.delete(deliveryId)) return false;
    if (ids.size === 0) held.delete(subId);
    return true;
  }

  // Takes and give-backs of one event-loop turn go out as one pipeline (one round trip): the
  // attempts of a fan-out start together, and responses that arrive together end together.
  type Call = { kind: 'acquire' | 'release'; subId: string; deliveryId: string; cap: number };
  type Reply = { err: Error | null; value: unknown };
  /** One script call for the acquires of a turn, one for the releases (each in call order). */
  const send = tickBatcher<Call, Reply>(async (calls) => {
    const kinds = (['release', 'acquire'] as const).filter((k) => calls.some((c) => c.kind === k));
    // Mostly one kind a turn: then one command, not a pipeline (runScripts).
    const res = await runScripts(
      redis,
      kinds.map((kind) => {
        const keyArgs = [keys.inFlightSubs(), keys.parkedSubs()];
        const args: (string | number)[] = kind === 'acquire' ? [leaseMs, PARKED_TTL_MS] : [leaseMs];
        for (const c of calls)
          if (c.kind === kind) {
            keyArgs.push(keys.inFlight(c.subId), keys.parked(c.subId));
            args.push(c.deliveryId, c.cap, c.subId);
          }
        return { script: kind === 'acquire' ? ACQUIRE : RELEASE, keys: keyArgs, args };
      }),
    );
    const out = new Map<string, { err: Error | null; items: unknown[] }>();
    kinds.forEach((k, i) =>
      out.set(k, { err: res[i]?.[0] ?? null, items: (res[i]?.[1] as unknown[]) ?? [] }),
    );
    const next = { acquire: 0, release: 0 };
    return calls.map((c) => {
      const r = out.get(c.kind)!;
      return { err: r.err, value: r.items[next[c.kind]++] };
    });
  }, BY_SUBSCRIPTION);
  async function call<R>(c: Call): Promise<R> {
    const r = await send(c);
    if (r.err) throw r.err;
    return r.value as R;
  }

  return {
    leaseMs,

    /** A lease for this delivery (renewed if it holds one already: a handed lease), or parks it. */
    async acquire(subId: string, deliveryId: string, cap: number): Promise<CapVerdict> {
      const [go, ...handed] = await call<[0 | 1, ...string[]]>({ kind: 'acquire', subId, deliveryId, cap });
      if (go === 1) keep(subId, deliveryId);
      return { go: go === 1, handed };
    },

    /** Whether this process holds the delivery's lease (taken by `acquire`, not released yet). */
    holds: (subId: string, deliveryId: string) => held.get(subId)?.has(deliveryId) ?? false,

    /**
     * Gives a lease back (and drops the delivery from the parked set, if it is there); answers
     * the parked deliveries handed a lease. Without a delivery id it only sweeps: leases expired
     * (a killed process's) free their room for the parked ones.
     */
    async release(subId: string, deliveryId: string | undefined, cap: number): Promise<string[]> {
      if (deliveryId !== undefined) forget(subId, deliveryId);
      return call<string[]>({ kind: 'release', subId, deliveryId: deliveryId ?? '', cap });
    },

    /** Up to `count` subscriptions with parked deliveries (any of them: a random sample). */
    async parkedSubscriptions(count: number): Promise<string[]> {
      return redis.srandmember(keys.parkedSubs(), count);
    },

    parkedAmong: (items: { subscriptionId: string; id: string }[]) => parkedAmong(redis, keys, items),

    /**
     * Parked and in-flight counts read from Redis (for metrics): at most `limit` subscriptions of
     * the index, the `top` highest of each kind. Subscriptions with neither leave the index.
     */
    async snapshot(limit: number, top: number): Promise<InFlightSnapshot> {
      const index = keys.inFlightSubs();
      const [, subs] = await redis.sscan(index, '0', 'COUNT', limit);
      const now = Date.now();
      const pipe = redis.pipeline();
      for (const s of subs) pipe.zcard(keys.parked(s)).zcount(keys.inFlight(s), now, '+inf');
      const res = (await pipe.exec()) ?? [];
      const parked: [string, number][] = [];
      const inFlight: [string, number][] = [];
      const idle: string[] = [];
      let parkedTotal = 0;
      subs.forEach((s, i) => {
        const p = Number(res[2 * i]?.[1] ?? 0);
        const f = Number(res[2 * i + 1]?.[1] ?? 0);
        parkedTotal += p;
        if (p > 0) parked.push([s, p]);
        if (f > 0) inFlight.push([s, f]);
        if (p === 0 && f === 0) idle.push(s);
      });
      // Its keys expired (no release ran: a killed process): nothing left to show.
      if (idle.length > 0) await redis.srem(index, ...idle);
      const highest = (rows: [string, number][]) => rows.sort((a, b) => b[1] - a[1]).slice(0, top);
      return { parkedTotal, parked: highest(parked), inFlight: highest(inFlight) };
    },

    /** Stops renewing (shutdown); leases still held expire on their own. */
    close(): void {
      if (renewTimer) clearInterval(renewTimer);
      renewTimer = undefined;
    },
  };
}

export type InFlightCap = ReturnType<typeof createInFlightCap>;

/** Which of these deliveries are parked now (one pipeline; none for an empty list). */
export async function parkedAmong(
  redis: Redis,
  keys: Keys,
  items: { subscriptionId: string; id: string }[],
): Promise<boolean[]> {
  if (items.length === 0) return [];
  const pipe = redis.pipeline();
  for (const it of items) pipe.zscore(keys.parked(it.subscriptionId), it.id);
  const res = (await pipe.exec()) ?? [];
  return res.map(([err, score]) => !err && score !== null);
}
