// Identifiers: random ids drawn from a pooled buffer, deterministic delivery ids.
import type * as crypto from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { deliveryId, newId } from '../../src/domain/ids.js';

// The real randomBytes, counted: ids must come from 4 KB draws, not one draw each.
vi.mock('node:crypto', async (original) => {
  const actual = await original<typeof crypto>();
  return { ...actual, randomBytes: vi.fn(actual.randomBytes) };
});

describe('newId', () => {
  it('is the prefix and 16 base64url characters (96 random bits)', () => {
    expect(newId('evt')).toMatch(/^evt_[A-Za-z0-9_-]{16}$/);
    expect(newId('sub_test')).toMatch(/^sub_test_[A-Za-z0-9_-]{16}$/);
  });

  it('draws random bytes 4 KB at a time: one draw per 341 ids', () => {
    const draws = vi.mocked(randomBytes);
    newId('warm'); // whatever is left of the current pool
    draws.mockClear();
    for (let i = 0; i < 341 * 3; i++) newId('x');
    expect(draws.mock.calls.length).toBeGreaterThanOrEqual(2);
    expect(draws.mock.calls.length).toBeLessThanOrEqual(4);
    expect(draws.mock.calls.every(([size]) => size === 4096)).toBe(true);
  });

  it('stays well formed and unique across many pool refills', () => {
    // 4 KB pools hold 341 ids: 2000 ids cross several refills.
    const ids = Array.from({ length: 2000 }, () => newId('x'));
    for (const id of ids) expect(id).toMatch(/^x_[A-Za-z0-9_-]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('deliveryId', () => {
  it('is deterministic: the same event, subscription and series give the same id', () => {
    expect(deliveryId('t', 'evt_1', 'sub_1')).toBe(deliveryId('t', 'evt_1', 'sub_1', 0));
    // Pinned: ids are stored, so the scheme must not drift between versions.
    expect(deliveryId('t', 'evt_1', 'sub_1')).toBe('dlv_QxBJc4YGIyeNFlCwvsf982ir');
  });

  it('differs by event, subscription and series', () => {
    const ids = [
      deliveryId('t', 'evt_1', 'sub_1'),
      deliveryId('t', 'evt_2', 'sub_1'),
      deliveryId('t', 'evt_1', 'sub_2'),
      deliveryId('t', 'evt_1', 'sub_1', 1),
      // The separator keeps "ab"+"c" apart from "a"+"bc".
      deliveryId('t', 'evt_1s', 'ub_1'),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^dlv_[A-Za-z0-9_-]{24}$/);
  });
});
