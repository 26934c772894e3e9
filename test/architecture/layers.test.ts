// The layers of README "Where the code lives", checked on the real import graph of src/: each
// module imports only its own layer or the ones below it, and there is no import circle.
import { describe, expect, it } from 'vitest';
import { cycles, importGraph } from './imports.js';

/** Lowest first. A module may import its own layer and any layer before it. */
const LAYERS = [
  'shared',
  'domain',
  'redis',
  'store',
  'delivery',
  'config',
  'resilience',
  'pipeline',
  'services',
  'api',
  'root',
] as const;
type Layer = (typeof LAYERS)[number];

const SHARED = new Set(['logger.ts', 'crypto.ts', 'memo.ts', 'version.ts']);

function layerOf(module: string): Layer {
  // telemetry/: tracing helpers on @opentelemetry/api alone, used from every layer (the logger too).
  if (SHARED.has(module) || module.startsWith('telemetry/')) return 'shared';
  if (module === 'config.ts') return 'config';
  const top = module.split('/')[0]!;
  if (!module.includes('/')) return 'root';
  if (!(LAYERS as readonly string[]).includes(top)) throw new Error(`${module} is in no layer`);
  return top as Layer;
}

const graph = importGraph();

describe('the layers of src/', () => {
  it('knows every module', () => {
    expect(graph.size).toBeGreaterThan(100);
    for (const m of graph.keys()) expect(() => layerOf(m), m).not.toThrow();
  });

  it('has no upward import', () => {
    const upward: string[] = [];
    for (const [m, deps] of graph)
      for (const d of deps)
        if (LAYERS.indexOf(layerOf(d)) > LAYERS.indexOf(layerOf(m)))
          upward.push(`${m} (${layerOf(m)}) → ${d} (${layerOf(d)})`);
    expect(upward).toEqual([]);
  });

  it('has no import circle', () => {
    expect(cycles(graph).map((c) => c.join(' → '))).toEqual([]);
  });

  it('keeps BullMQ inside src/pipeline', async () => {
    const { readFileSync } = await import('node:fs');
    const { SRC } = await import('./imports.js');
    const outside = [...graph.keys()].filter(
      (m) => !m.startsWith('pipeline/') && /from 'bullmq'/.test(readFileSync(`${SRC}/${m}`, 'utf8')),
    );
    expect(outside).toEqual([]);
  });

  it('catches what it claims to (a circle and an upward import in a made-up graph)', () => {
    const made = new Map([
      ['domain/a.ts', ['domain/b.ts']],
      ['domain/b.ts', ['domain/a.ts', 'api/x.ts']],
      ['api/x.ts', []],
    ]);
    expect(cycles(made)).toEqual([['domain/a.ts', 'domain/b.ts', 'domain/a.ts']]);
    expect(LAYERS.indexOf(layerOf('api/x.ts'))).toBeGreaterThan(LAYERS.indexOf(layerOf('domain/b.ts')));
  });
});
