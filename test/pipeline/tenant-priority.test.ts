// Lighter tenants first (src/pipeline/tenant-priority.ts): a tenant whose load is over twice
// another's waits at each step while that one's step is under way, for at most maxWaitMs; tenants
// of like load, or of little load, never wait. End to end: test/pipeline/tenant-priority-e2e.test.ts.
import { describe, expect, it } from 'vitest';
import {
  createTenantPriority,
  MIN_HEAVY_LOAD,
  type TenantPriority,
} from '../../src/pipeline/tenant-priority.js';

/** `units` events accepted by `tenant` (a step begun and ended). */
function load(p: TenantPriority, tenant: string, units: number) {
  p.begin(tenant, units);
  p.end(tenant);
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
    const p = createTenantPriority({ maxWaitMs: 5_000 });
    load(p, 'heavy', 500);
    load(p, 'light', 50);
    p.begin('light', 5);
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
    const p = createTenantPriority({ maxWaitMs: 30 });
    load(p, 'heavy', 500);
    load(p, 'light', 10);
    p.begin('light', 0);
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
    const p = createTenantPriority({ maxWaitMs: 5_000 });
    load(p, 'slow', 50);
    load(p, 'fast', 50);
    p.begin('fast', 0);
    expect(p.turn('slow')).toBeUndefined();
    for (let i = 0; i < 25; i++) p.started('slow');
    // 50 + 25 × IN_FLIGHT_WEIGHT against 50, seen on the next look after REFRESH_MS.
    await new Promise((r) => setTimeout(r, 60));
    const w = p.turn('slow');
    expect(w).toBeDefined();
    expect(await settlesWithin(w!, 50)).toBe(false);
    for (let i = 0; i < 25; i++) p.stopped('slow');
    p.end('fast');
    await w;
  });

  it('keeps an accepted call’s step open until its fan-out takes it, or for maxWaitMs', async () => {
    const p = createTenantPriority({ maxWaitMs: 5_000 });
    load(p, 'heavy', 500);
    load(p, 'light', 10);
    p.begin('light', 5);
    p.handOff('light\nevt_1', 'light');
    const w = p.turn('heavy')!;
    expect(await settlesWithin(w, 50)).toBe(false);
    p.taken('light\nevt_1');
    expect(await settlesWithin(w, 50)).toBe(true);

    const short = createTenantPriority({ maxWaitMs: 20 });
    load(short, 'heavy', 500);
    load(short, 'light', 10);
    short.begin('light', 5);
    short.handOff('light\nevt_2', 'light'); // its fan-out runs in another process
    await new Promise((r) => setTimeout(r, 40));
    const w2 = short.turn('heavy')!;
    expect(await settlesWithin(w2, 15)).toBe(true);
    expect(short.waits.count).toBe(0);
  });

  it('is off with maxWaitMs 0', () => {
    const p = createTenantPriority({ maxWaitMs: 0 });
    load(p, 'heavy', 500);
    load(p, 'light', 10);
    p.begin('light', 0);
    expect(p.turn('heavy')).toBeUndefined();
  });
});
