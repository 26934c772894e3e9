import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digest12 } from '../../src/domain/digest.js';

const slow = (s: string) => createHash('sha256').update(s).digest().subarray(0, 12);

describe('digest12', () => {
  it('is the first 12 bytes of SHA-256, for new and remembered texts alike', () => {
    for (const s of ['', 't1\nmsg_1\nsub_1', 'é ✓ \u0000', 'x'.repeat(1000)]) {
      expect(digest12(s).equals(slow(s))).toBe(true);
      expect(digest12(s).equals(slow(s))).toBe(true); // remembered
      expect(digest12(s)).toHaveLength(12);
    }
  });

  it('keeps answering right past its memory (thousands of texts, then the first again)', () => {
    for (let i = 0; i < 10_000; i++) digest12(`t\n${i}`);
    for (const i of [0, 1, 5_000, 9_999]) expect(digest12(`t\n${i}`).equals(slow(`t\n${i}`))).toBe(true);
    expect(digest12('a').equals(digest12('b'))).toBe(false);
  });

  it('lives in the shared buffer pool, not in an ArrayBuffer of its own per digest', () => {
    // Each ArrayBuffer is swept one by one by a full collection: remembered digests share slabs
    // (Buffer.poolSize bytes each) instead of holding a 32-byte hash output each.
    for (let i = 0; i < 20; i++) expect(digest12(`pool\n${i}`).buffer.byteLength).toBe(Buffer.poolSize);
  });
});
