import { describe, expect, it } from 'vitest';
import { Fifo } from '../../src/pipeline/fifo.js';

describe('Fifo', () => {
  it('keeps arrival order across its compaction, and takeAll empties it in order', () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 5_000; i++) q.push(i);
    for (let i = 0; i < 3_000; i++) expect(q.shift()).toBe(i); // past the 1,024 that compacts
    q.push(5_000);
    expect(q.length).toBe(2_001);
    expect(q.shift()).toBe(3_000);
    const rest = q.takeAll();
    expect(rest).toHaveLength(2_000);
    expect(rest[0]).toBe(3_001);
    expect(rest.at(-1)).toBe(5_000);
    expect(q.length).toBe(0);
    expect(q.shift()).toBeUndefined();
  });
});
