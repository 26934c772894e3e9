// The Node.js flags Hookline runs with (docs/operations.md, "Node.js flags"): `npm start`, its
// api/worker variants, the Dockerfile's CMD and the bench's Hookline child use the same ones
// (none in the scripts today), so a flag added to one cannot be forgotten in the others, and the
// bench measures what production runs: its child also gets the young-generation flag main.ts
// restarts itself with (test/ops/young-generation.test.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startFlags } from '../../bench/lib/node-flags.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

describe('Node.js flags', () => {
  it('are the same for npm start, start:api, start:worker, the Dockerfile and the bench', () => {
    const flags = startFlags('start');
    expect(flags.every((f) => f.startsWith('--'))).toBe(true);
    expect(startFlags('start:api')).toEqual(flags);
    expect(startFlags('start:worker')).toEqual(flags);
    const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    expect(JSON.parse(cmd!)).toEqual(['node', ...flags, 'dist/src/main.js']);
    expect(read('bench/lib/context.ts')).toContain('startFlags()');
    expect(read('bench/lib/context.ts')).toContain('youngGenerationFlags(testConfig(start.env))');
  });

  it('are read from the script: a flag between node and the entry point is found', () => {
    expect(startFlags('start', { start: 'node --max-semi-space-size=8 dist/src/main.js' })).toEqual([
      '--max-semi-space-size=8',
    ]);
    expect(() => startFlags('start', { start: 'tsx src/main.ts' })).toThrow(/does not start with node/);
  });
});
