// Log lines on stdout (src/logger.ts stdoutByTurn): the lines of one event-loop turn go out in
// one write, and none is lost when the process ends in the turn it logged them.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const fixture = new URL('./fixtures/stdout-logger.ts', import.meta.url).pathname;
const cwd = new URL('../..', import.meta.url).pathname;

async function run(count: number, perTurn: number, end: 'exit' | 'throw' | 'exit-log', stdout?: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, String(count), String(perTurn), end], {
    cwd,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', stdout ?? 'pipe', 'pipe'],
  });
  const out = child.stdout;
  const err = child.stderr!;
  const seen: number[] = [];
  let rest = '';
  let stderr = '';
  out?.setEncoding('utf8').on('data', (d: string) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop()!;
    for (const p of parts) seen.push((JSON.parse(p) as { n: number }).n);
  });
  err.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = await Promise.all([
    new Promise<number | null>((resolve) => child.on('exit', resolve)),
    out ? new Promise((resolve) => out.on('close', resolve)) : undefined,
    new Promise((resolve) => err.on('close', resolve)),
  ]);
  const writes = Number(/writes=(\d+)/.exec(stderr)?.[1] ?? NaN);
  return { code, seen, rest, writes, stderr };
}

/** 0, 1, … n - 1: every line, in the order logged. */
const lines = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('logging to stdout', () => {
  it('writes each turn’s lines at once, and every line before process.exit in the same turn', async () => {
    const r = await run(20_000, 100, 'exit');
    expect(r.code).toBe(0);
    expect(r.rest).toBe('');
    // All of them, in order: the last turn's 100 lines too, written by the exit.
    expect(r.seen).toEqual(lines(20_000));
    // 200 turns of 100 lines (about 10 KB each, under the 64 KB a turn holds): a write a turn,
    // not a write a line.
    // A write to a full pipe (the reader behind, on a loaded machine) may be taken in parts of at
    // least a page (4 KB), each a writeSync of its own (a refused one, EAGAIN, is not counted):
    // at most 3 for a turn's 10 KB, never one a line.
    expect(r.writes).toBeGreaterThanOrEqual(200);
    expect(r.writes).toBeLessThanOrEqual(600);
  }, 60_000);

  it('writes a full buffer at once within a turn, and the lines logged before an uncaught error', async () => {
    // One turn of 5,000 lines (about 240 KB): several writes of 64 KB or so, then the exit's.
    const r = await run(5_000, 5_000, 'throw');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('fixture: uncaught');
    expect(r.seen).toEqual(lines(5_000));
    expect(r.writes).toBeGreaterThanOrEqual(3);
    // 4-6 whole writes, or parts of at least a page each to a full pipe (7 seen once in CI, 10 with
    // a reader 0.5 s behind): at most about 60 for 240 KB, where the lines are 5,000.
    expect(r.writes).toBeLessThanOrEqual(70);
  }, 60_000);

  it('writes a line logged by a later exit listener', async () => {
    const r = await run(300, 100, 'exit-log');
    expect(r.code).toBe(0);
    expect(r.seen).toEqual(lines(301));
  }, 60_000);

  it('loses lines, not the process, when stdout fails, and says so once', async () => {
    const full = openSync('/dev/full', 'w'); // every write fails with ENOSPC
    try {
      const r = await run(2_000, 100, 'exit', full);
      expect(r.code).toBe(0);
      expect(r.stderr.match(/writing log lines to stdout failed \(ENOSPC\); lines lost/g)).toHaveLength(1);
    } finally {
      closeSync(full);
    }
  }, 60_000);
});
