// How deep a JSON value nests (src/domain/json-depth.ts), measured without recursion.
import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from '../../src/domain/json-depth.js';

/** An array nested `levels` deep: [[[…]]]. */
const nested = (levels: number): unknown => {
  let v: unknown = [];
  for (let i = 1; i < levels; i++) v = [v];
  return v;
};

describe('nestsDeeperThan', () => {
  it('counts the value itself as level 1 and each object or array inside as one more', () => {
    expect(nestsDeeperThan({}, 1)).toBe(false);
    expect(nestsDeeperThan({}, 0)).toBe(true);
    expect(nestsDeeperThan({ a: { b: {} } }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: { b: {} } }, 2)).toBe(true);
    expect(nestsDeeperThan([1, [2, [3]]], 3)).toBe(false);
    expect(nestsDeeperThan([1, [2, [3]]], 2)).toBe(true);
  });

  it('does not count scalars and null as levels', () => {
    expect(nestsDeeperThan({ a: 1, b: 'x', c: null, d: true }, 1)).toBe(false);
    for (const scalar of [null, 1, 'x', true, undefined])
      expect(nestsDeeperThan(scalar, 0), String(scalar)).toBe(false);
  });

  it('finds the deepest branch among many', () => {
    expect(nestsDeeperThan({ a: 1, b: [], c: { d: [{ e: {} }] }, f: {} }, 5)).toBe(false);
    expect(nestsDeeperThan({ a: 1, b: [], c: { d: [{ e: {} }] }, f: {} }, 4)).toBe(true);
  });

  it('measures values far deeper than the stack could recurse', () => {
    expect(nestsDeeperThan(nested(100_000), 99_999)).toBe(true);
    expect(nestsDeeperThan(nested(100_000), 100_000)).toBe(false);
  });
});
