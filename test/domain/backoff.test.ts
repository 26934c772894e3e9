import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryAfterDelay, retryDelay } from '../../src/domain/backoff.js';

const s = { baseMs: 10_000, maxMs: 3_600_000 };

describe('backoff (SPEC §5)', () => {
  it('doubles from the base with no jitter at the midpoint', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelay(n, s, () => 0.5))).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000,
    ]);
  });

  it('stays within ±20 % jitter', () => {
    expect(retryDelay(3, s, () => 0)).toBe(32_000);
    expect(retryDelay(3, s, () => 1)).toBe(48_000);
    for (let i = 0; i < 200; i++) {
      const d = retryDelay(2, s);
      expect(d).toBeGreaterThanOrEqual(16_000);
      expect(d).toBeLessThanOrEqual(24_000);
    }
  });

  it('caps at RETRY_MAX_DELAY_MS before jitter', () => {
    expect(retryDelay(20, s, () => 0.5)).toBe(3_600_000);
    expect(retryDelay(20, s, () => 1)).toBe(4_320_000);
  });

  it('honours Retry-After in seconds or as an HTTP date, capped', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())).toBeGreaterThan(55_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(retryAfterDelay(10 * 3_600_000, s)).toBe(3_600_000);
  });
});
