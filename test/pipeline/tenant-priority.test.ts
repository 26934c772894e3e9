// Lighter tenants first (src/pipeline/tenant-priority.ts): a tenant whose load is over twice
// another's waits at each step while that one's step is under way, for at most maxWaitMs; tenants
// of like load, or of little load, never wait. End to end: test/pipeline/tenant-priority-e2e.test.ts.
import { describe, expect, it, vi } from 'vitest';
import {
  CALL_BUDGET,
  callSteps,
  createTenantPriority,
  HANDOFF_MS,
  MIN_HEAVY_LOAD,
  tenantsOf,
  UNHEALTHY_WEIGHT,
  type TenantPriority,
} from '../../src/pipeline/tenant-priority.js';

/** `units` events accepted by `tenant` (a step begun and ended). */
function load(p: TenantPriority, tenant: string, units: number) {
  p.begin(tenant, units);
  p.end(tenant);
}

/** A heavy tenant (load 500) beside a light one (`light`) whose step is under way. */
function heavyBesideLightStep(maxWaitMs: number, light = 10): TenantPriority {
  const p = createTenantPriority({ maxWaitMs });
  load(p, 'heavy', 500);
  load(p, 'light', light);
  p.begin('light', 0);
  return p;
}

/** Resolves with true when `w` settles within `ms`, else false. */
const settlesWithin = (w: Promise<void>, ms: number) =>
  Promise.race([w.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe('tenant priority', () => {
  it('lets tenants of like load go on at once, however loaded', () => {
    const p = createTenantPriority({ maxWaitMs: 50 });
    load(p, 'a', 500);
    load(p, 'b', 400);
    p.begin('b', 0); // b's step under way
    expect(p.turn('a')).toBeUndefined();
    expect(p.turn('b')).toBeUndefined();
  });

  it('never holds a tenant of little load, even beside a lighter one', () => {
    const p = createTenantPriority({ maxWaitMs: 50 });
    load(p, 'a', MIN_HEAVY_LOAD / 2);
    load(p, 'b', 1);
    p.begin('b', 0);
    expect(p.turn('a')).toBeUndefined();
  });

  it('holds a heavy tenant while a lighter one’s step is under way, and lets it go when it ends', async () => {
    const p = heavyBesideLightStep(5_000, 50);
    const w = p.turn('heavy');
    expect(w).toBeDefined();
    expect(await settlesWithin(w!, 100)).toBe(false);
    expect(p.waits.count).toBe(1);
    p.end('light');
    expect(await settlesWithin(w!, 100)).toBe(true);
    // The light one itself never waits.
    expect(p.turn('light')).toBeUndefined();
  });

  it('holds a heavy tenant for at most maxWaitMs when the lighter step does not end', async () => {
    const p = heavyBesideLightStep(30);
    const t0 = performance.now();
    await p.turn('heavy');
    const waited = performance.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(25);
    expect(waited).toBeLessThan(1_000);
    expect(p.waits.ms).toBeGreaterThanOrEqual(25);
  });

  it('yields once, without waiting, when no lighter step is under way', async () => {
    const p = createTenantPriority({ maxWaitMs: 5_000 });
    load(p, 'heavy', 500);
    load(p, 'light', 10);
    const w = p.turn('heavy');
    expect(w).toBeDefined();
    // A lighter step that begins before the yield is over is waited for: a request read with
    // the heavy one's goes first.
    p.begin('light', 0);
    expect(await settlesWithin(w!, 50)).toBe(false);
    p.end('light');
    await w;
    const again = p.turn('heavy')!;
    expect(await settlesWithin(again, 50)).toBe(true);
    expect(p.waits.count).toBe(1);
  });

  it('weighs attempts under way: a slow subscriber’s tenant is heavy at the same event rate', async () => {
    let t = 0;
    const p = createTenantPriority({ maxWaitMs: 5_000, clock: () => t });
    load(p, 'slow', 50);
    load(p, 'fast', 50);
    p.begin('fast', 0);
    expect(p.turn('slow')).toBeUndefined();
    for (let i = 0; i < 25; i++) p.started('slow');
    // 50 + 25 × IN_FLIGHT_WEIGHT against 50, seen on the next look after REFRESH_MS (50 ms).
    t = 60;
    const w = p.turn('slow');
    expect(w).toBeDefined();
    expect(await settlesWithin(w!, 50)).toBe(false);
    for (let i = 0; i < 25; i++) p.stopped('slow');
    p.end('fast');
    await w;
  });

  it('charges runs that deliver nothing: a failing subscriber’s tenant is heavy at the same event rate', () => {
    let t = 0;
    const p = createTenantPriority({ maxWaitMs: 5_000, clock: () => t });
    load(p, 'failing', 40);
    load(p, 'healthy', 40);
    expect(p.turn('failing')).toBeUndefined();
    // Its 40 runs held, retried or failed.
    p.charge('failing', 40 * UNHEALTHY_WEIGHT);
    t = 60; // past the 50 ms the lightest loads are kept for
    expect(p.turn('failing')).toBeDefined();
    expect(p.turn('healthy')).toBeUndefined();
  });

  it('keeps an accepted call’s step open until its fan-out takes it, or for HANDOFF_MS', async () => {
    const p = createTenantPriority({ maxWaitMs: 5_000 });
    p.fanOutHere();
    load(p, 'heavy', 500);
    load(p, 'light', 10);
    p.begin('light', 5);
    p.handOff('light\nevt_1', ['light']);
    expect(p.open).toBe(1);
    const w = p.turn('heavy')!;
    await new Promise((r) => setImmediate(r)); // past its yield: it waits for light's step
    expect(p.waits.count).toBe(1);
    p.taken('light\nevt_1');
    expect(p.open).toBe(0);
    expect(await settlesWithin(w, 50)).toBe(true);

    // Not taken (its fan-out runs in another process): it ends by itself.
    p.begin('light', 5);
    p.handOff('light\nevt_2', ['light']);
    expect(p.open).toBe(1);
    const t0 = performance.now();
    await vi.waitFor(() => expect(p.open).toBe(0), { timeout: 1_000, interval: 1 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(HANDOFF_MS - 1);
  });

  it('ends an accepted call’s step at once in a process without a fan-out (an API alone)', async () => {
    const p = createTenantPriority({ maxWaitMs: 5_000 });
    load(p, 'heavy', 500);
    p.begin('light', 5);
    expect(p.open).toBe(1);
    p.handOff('light\nevt_1', ['light']);
    expect(p.open).toBe(0);
    await p.turn('heavy');
    expect(p.waits.count).toBe(0);
  });

  it('compares only with tenants active in the last second: an idle light one makes no one heavy', () => {
    let t = 0;
    const p = createTenantPriority({ maxWaitMs: 50, clock: () => t });
    load(p, 'light', 10);
    load(p, 'heavy', 500);
    t = 1_500; // light's last step began 1.5 s ago; heavy's load is still ~110
    p.begin('heavy', 0);
    p.end('heavy');
    expect(p.turn('heavy')).toBeUndefined();
  });

  it('sees a tenant back after a quiet second at its first step, not at the next refresh', () => {
    let t = 0;
    const p = createTenantPriority({ maxWaitMs: 50, clock: () => t });
    load(p, 'light', 10);
    load(p, 'heavy', 500);
    t = 2_000;
    load(p, 'heavy', 500);
    expect(p.turn('heavy')).toBeUndefined(); // light idle for 2 s: heavy is alone
    t = 2_001;
    p.begin('light', 1); // back, within the 50 ms the lightest loads are kept for
    expect(p.turn('heavy')).toBeDefined();
  });

  it('bounds what one call’s steps wait in all: CALL_BUDGET × maxWaitMs, then they go on', async () => {
    const p = heavyBesideLightStep(10); // light's step never ends
    const between = p.turns('heavy');
    const t0 = performance.now();
    let waited = 0;
    for (let w = between(); w; w = between()) {
      await w;
      waited++;
    }
    const ms = performance.now() - t0;
    // Each wait is at most 10 ms, so CALL_BUDGET of them on an idle machine; a loaded one's late
    // timers make them longer and fewer (the budget is time spent, not a count).
    expect(waited).toBeGreaterThanOrEqual(1);
    expect(waited).toBeLessThanOrEqual(CALL_BUDGET + 1); // a timer may fire a fraction of a ms early
    expect(ms).toBeGreaterThanOrEqual(CALL_BUDGET * 10 - 5);
    expect(ms).toBeLessThan(2_000);
    // The last wait is cut to what is left of the budget: the waits add up to the budget and at
    // most one late timer more.
    expect(p.waits.ms).toBeGreaterThanOrEqual(CALL_BUDGET * 10 - 5);
    expect(p.waits.ms).toBeLessThan(CALL_BUDGET * 10 + 50);
    // A new call has a budget of its own.
    expect(p.turns('heavy')()).toBeDefined();
  });

  it('counts its open steps: each begin until its end', () => {
    const p = createTenantPriority({ maxWaitMs: 50 });
    p.begin('a', 1);
    p.begin('a', 1);
    p.begin('b', 1);
    expect(p.open).toBe(3);
    p.end('a');
    p.end('b');
    p.end('b'); // one end too many is ignored
    expect(p.open).toBe(1);
    p.end('a');
    expect(p.open).toBe(0);
  });

  it('counts a call’s events per tenant (a platform’s call may carry many tenants’)', () => {
    const ev = (...ts: string[]) => ts.map((tenantId) => ({ tenantId }));
    expect([...tenantsOf(ev('a', 'a', 'a'))]).toEqual([['a', 3]]);
    expect([...tenantsOf(ev('a', 'b', 'a', 'c', 'c'))]).toEqual([
      ['a', 2],
      ['b', 1],
      ['c', 2],
    ]);
    expect(tenantsOf([]).size).toBe(0);
  });

  it('makes a call of several tenants a step of each that never waits; a heavy tenant’s own call waits', () => {
    const p = heavyBesideLightStep(5_000);
    const ev = (...ts: string[]) => ts.map((tenantId) => ({ tenantId }));
    const mixed = callSteps(p, ev('heavy', 'other', 'heavy', 'third'), { units: true, wait: true });
    expect(mixed.tenants).toEqual(['heavy', 'other', 'third']);
    expect(p.open).toBe(4); // light's own step, and one of each tenant in the call
    expect(mixed.between()).toBeUndefined();
    mixed.end();
    mixed.end(); // once only
    expect(p.open).toBe(1);
    expect(callSteps(p, ev('heavy'), { units: true, wait: true }).between()).toBeDefined();
    // An operational event's call (wait: false) never waits, heavy or not.
    expect(callSteps(p, ev('heavy'), { units: false, wait: false }).between()).toBeUndefined();
  });

  it('is off with maxWaitMs 0', () => {
    const p = heavyBesideLightStep(0);
    expect(p.turn('heavy')).toBeUndefined();
    expect(p.turns('heavy')()).toBeUndefined();
    expect(p.open).toBe(0);
  });
});
