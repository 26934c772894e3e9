// Hookline's trace and span ids (src/telemetry/span-ids.ts): lower-case hex of the W3C lengths,
// all different, across the refills of its random pool.
import { describe, expect, it } from 'vitest';
import { PooledIdGenerator } from '../../src/telemetry/span-ids.js';

describe('PooledIdGenerator', () => {
  it('makes distinct 32- and 16-hex-digit ids past many pool refills', () => {
    const ids = new PooledIdGenerator();
    const traces = new Set<string>();
    const spans = new Set<string>();
    // 4,096 random bytes a pool: 5,000 of each id takes several.
    for (let i = 0; i < 5_000; i++) {
      traces.add(ids.generateTraceId());
      spans.add(ids.generateSpanId());
    }
    expect(traces.size).toBe(5_000);
    expect(spans.size).toBe(5_000);
    for (const t of traces) expect(t).toMatch(/^[0-9a-f]{32}$/);
    for (const s of spans) expect(s).toMatch(/^[0-9a-f]{16}$/);
  });
});
