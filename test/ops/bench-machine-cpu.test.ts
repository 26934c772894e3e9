// The bench's whole-machine CPU per delivery and the ceiling it gives (bench/README.md, B1):
// read from /proc/stat in µs, it must move with CPU any process spends (this one, busy for
// 200 ms here), and the ceiling is the cores' rate at that cost over the bare worker's rate.
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { machineCpuPerItem, machineCpuUs } from '../../bench/lib/machine-cpu.js';
import { machineCeiling, type Results } from '../../bench/lib/report.js';
import type { RateResult } from '../../bench/phases/baselines.js';

const rateOf = (perSecond: number, machineCpuUsPerItem?: number): RateResult => ({
  count: 1000,
  perSecond,
  steadyPerSecond: perSecond,
  durationMs: 1000,
  timedOut: false,
  machineCpuUsPerItem,
});

describe('bench: machine CPU time', () => {
  it('is read in µs and grows by the CPU this process spends', () => {
    const before = machineCpuUs();
    expect(before).toBeGreaterThan(0);
    const start = process.cpuUsage();
    let x = 0;
    while (process.cpuUsage(start).user < 200_000) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    const after = machineCpuUs()!;
    // /proc/stat counts in clock ticks (10 ms): at least 200 ms less a tick or two.
    expect(after - before!).toBeGreaterThanOrEqual(150_000);
    expect(machineCpuPerItem(before, 4)).toBeGreaterThanOrEqual(150_000 / 4);
    expect(machineCpuPerItem(undefined, 4)).toBeUndefined();
  });

  it("gives B1's ceiling: the cores' rate at its cost, over the bare worker's rate", () => {
    const cores = availableParallelism();
    // 500 µs of the machine a delivery: cores × 2,000/s at most, against a bare worker at 10,000/s.
    const r = { bare: rateOf(10_000, 200), B1: rateOf(3_000, 500) } as Results;
    expect(machineCeiling(r)).toBeCloseTo((cores * 2_000) / 10_000, 6);
    expect(machineCeiling({ ...r, B1: rateOf(3_000) } as Results)).toBeNaN();
    expect(machineCeiling(r, rateOf(3_000, 1_000) as Results['B1'])).toBeCloseTo((cores * 1_000) / 10_000, 6);
  });
});
