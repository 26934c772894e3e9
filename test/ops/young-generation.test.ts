// The young generation's size (docs/operations.md, "Node.js flags"): without tracing `npm start`
// replaces its own process, same PID, with one started with --max-semi-space-size=8; with
// tracing on it keeps V8's own sizing; MAX_SEMI_SPACE_MB and a flag already given win.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { DEFAULT_SEMI_SPACE_MB, youngGenerationPlan } from '../../src/young-generation.js';
import { startWorker, stopWorker, workerEnv, type WorkerProcess } from '../fault/helpers.js';
import { deleteKeys } from '../helpers/harness.js';

const TRACING = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' };

describe('young generation plan', () => {
  it('caps the semi-space at 8 MB without tracing and keeps V8 sizing with it', () => {
    expect(youngGenerationPlan(testConfig(), [], undefined)).toEqual({
      add: [`--max-semi-space-size=${DEFAULT_SEMI_SPACE_MB}`],
      semiSpace: '8 MB',
    });
    expect(youngGenerationPlan(testConfig(TRACING), [], undefined)).toEqual({
      add: [],
      semiSpace: "V8's own (tracing on)",
    });
  });

  it('takes MAX_SEMI_SPACE_MB, 0 being V8 sizing, whether tracing is on or not', () => {
    expect(
      youngGenerationPlan(testConfig({ ...TRACING, MAX_SEMI_SPACE_MB: '16' }), [], undefined).add,
    ).toEqual(['--max-semi-space-size=16']);
    expect(youngGenerationPlan(testConfig({ MAX_SEMI_SPACE_MB: '0' }), [], undefined).add).toEqual([]);
    expect(() => testConfig({ MAX_SEMI_SPACE_MB: '-1' })).toThrow(/MAX_SEMI_SPACE_MB/);
  });

  it('leaves a flag already given in node flags or NODE_OPTIONS alone', () => {
    const c = testConfig({ MAX_SEMI_SPACE_MB: '16' });
    expect(youngGenerationPlan(c, ['--max-semi-space-size=4'], undefined)).toEqual({
      add: [],
      semiSpace: '4 MB (--max-semi-space-size given)',
    });
    expect(youngGenerationPlan(c, ['--max_semi_space_size=2'], undefined).semiSpace).toBe(
      '2 MB (--max-semi-space-size given)',
    );
    expect(youngGenerationPlan(c, [], '--enable-source-maps --max-semi-space-size 32')).toEqual({
      add: [],
      semiSpace: '32 MB (--max-semi-space-size given)',
    });
  });
});

describe('a started process', () => {
  const prefixes: string[] = [];
  const procs: WorkerProcess[] = [];
  afterAll(async () => {
    for (const p of procs) await stopWorker(p);
    for (const p of prefixes) await deleteKeys(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', p);
  });

  async function start(extra: Record<string, string>) {
    const prefix = `{hl-test-${randomBytes(6).toString('hex')}}`;
    prefixes.push(prefix);
    const w = await startWorker(
      workerEnv(
        { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', REDIS_PREFIX: prefix },
        extra,
      ),
    );
    procs.push(w);
    const cmdline = readFileSync(`/proc/${w.child.pid}/cmdline`, 'utf8').split('\0');
    const line = w
      .output()
      .split('\n')
      .filter((l) => l.includes('V8 young generation'))
      .map((l) => JSON.parse(l) as { pid: number; maxSemiSpace: string });
    return { w, cmdline, line };
  }

  it('without tracing runs as the same PID, restarted with --max-semi-space-size=8', async () => {
    const { w, cmdline, line } = await start({});
    expect(cmdline).toContain('--max-semi-space-size=8');
    expect(line).toEqual([
      expect.objectContaining({ pid: w.child.pid, maxSemiSpace: '8 MB (--max-semi-space-size given)' }),
    ]);
  });

  it('with tracing on keeps V8 sizing, and NODE_OPTIONS wins over the default', async () => {
    const traced = await start(TRACING);
    expect(traced.cmdline.some((a) => a.startsWith('--max-semi-space-size'))).toBe(false);
    expect(traced.line).toEqual([
      expect.objectContaining({ pid: traced.w.child.pid, maxSemiSpace: "V8's own (tracing on)" }),
    ]);

    const given = await start({ NODE_OPTIONS: '--max-semi-space-size=4' });
    expect(given.cmdline.some((a) => a.startsWith('--max-semi-space-size'))).toBe(false);
    expect(given.line).toEqual([
      expect.objectContaining({ maxSemiSpace: '4 MB (--max-semi-space-size given)' }),
    ]);
  });
});
