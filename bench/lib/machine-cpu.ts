// CPU time of the whole machine, every process on every core (user, nice, system, irq and
// softirq from /proc/stat; idle, iowait and steal left out), in µs. Over a run, per delivery, it
// is what the run cost everything it needed: Hookline or the bare worker, Redis, PostgreSQL, the
// receiver and the orchestrator that publishes. A machine with C cores busy can then deliver
// at most C × 10^6 / (that cost) per second, whatever runs where. undefined where there is no
// /proc/stat (not Linux).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

let ticksPerSecond: number | undefined;

export function machineCpuUs(): number | undefined {
  try {
    const [name, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
    if (name !== 'cpu') return undefined;
    const [user, nice, system, , , irq, softirq] = fields.map(Number);
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
    const ticks = user! + nice! + system! + irq! + softirq!;
    return Number.isFinite(ticks) ? (ticks / ticksPerSecond) * 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/** µs of the whole machine per item since `from` (a machineCpuUs reading); undefined when unknown. */
export function machineCpuPerItem(from: number | undefined, items: number): number | undefined {
  const to = machineCpuUs();
  return from === undefined || to === undefined ? undefined : (to - from) / Math.max(1, items);
}

/** The cores the machine's ceiling counts. */
export const machineCores = (): number => availableParallelism();
