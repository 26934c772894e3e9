import { describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

describe('Fifo memory', () => {
  it('keeps no reference to an item once it is shifted, while others still wait', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const q = new Fifo<{ payload: number[] }>();
    const refs: WeakRef<object>[] = [];
    (() => {
      for (let i = 0; i < 10; i++) {
        const item = { payload: [i] };
        refs.push(new WeakRef(item));
        q.push(item);
      }
      for (let i = 0; i < 5; i++) q.shift();
    })();
    // A WeakRef's target is kept until the current job ends: collect on a later turn.
    await new Promise((r) => setImmediate(r));
    gc();
    expect(refs.slice(0, 5).map((r) => r.deref())).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(refs.slice(5).every((r) => r.deref() !== undefined)).toBe(true);
    expect(q.length).toBe(5);
    expect(q.shift()?.payload).toEqual([5]);
  });
});
