// The Node.js flags Hookline runs with (docs/operations.md, "Node.js flags"): `npm start`, its
// api/worker variants and the Dockerfile's CMD pass the same ones, the bench's Hookline runs
// with them, and they do what they are there for: a node started with them keeps its young
// generation at 16 MB (two 8 MB semi-spaces) where it grows to 128 MB on this machine without.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startFlags } from '../../bench/lib/node-flags.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** The largest new space a node with `flags` reaches while churning short-lived objects (MB). */
function maxNewSpaceMb(flags: string[]): number {
  const script = `
    const v8 = require('node:v8');
    let keep = [], max = 0;
    for (let i = 0; i < 2e6; i++) {
      keep.push({ i, s: 'x' + i });
      if (keep.length > 2e5) keep = [];
      if (i % 1e4 === 0) max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
    }
    console.log(max / 1048576);`;
  return Number(execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' }).trim());
}

describe('Node.js flags', () => {
  it('are the same for npm start, start:api, start:worker, the Dockerfile and the bench', () => {
    const flags = startFlags('start');
    expect(flags).toContain('--max-semi-space-size=8');
    expect(startFlags('start:api')).toEqual(flags);
    expect(startFlags('start:worker')).toEqual(flags);
    const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    expect(JSON.parse(cmd!)).toEqual(['node', ...flags, 'dist/src/main.js']);
    expect(read('bench/lib/context.ts')).toContain('startFlags()');
  });

  it('bound the young generation (short scavenge pauses) where the default lets it grow', () => {
    const bounded = maxNewSpaceMb(startFlags());
    expect(bounded).toBeGreaterThan(0);
    expect(bounded).toBeLessThanOrEqual(16);
    expect(maxNewSpaceMb([])).toBeGreaterThan(bounded);
  }, 30_000);
});
