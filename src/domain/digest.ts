// The 12-byte SHA-256 digests that name idempotency claims, status marks and message index
// entries in Redis. One-shot hashing (`crypto.hash`) costs about two thirds of a Hash object's
// create, update and digest; a delivery's mark digest is asked for twice (fan-out, then its
// attempt's record), so the last few thousand are remembered.
import { hash } from 'node:crypto';

const REMEMBERED = 4_096;
let recent = new Map<string, Buffer>();
let older = new Map<string, Buffer>();

/** The first 12 bytes (96 bits) of SHA-256 over `text`. */
export function digest12(text: string): Buffer {
  const known = recent.get(text) ?? older.get(text);
  if (known) return known;
  // Copied into Node's shared buffer pool: the hash's own buffer is an ArrayBuffer of its own,
  // and remembered for seconds, each was promoted and then swept one by one in a full collection.
  const d = Buffer.from(hash('sha256', text, 'buffer').subarray(0, 12));
  if (recent.size >= REMEMBERED) {
    older = recent;
    recent = new Map();
  }
  recent.set(text, d);
  return d;
}
