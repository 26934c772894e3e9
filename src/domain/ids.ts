// Identifiers: random ones for new resources, deterministic ones where retries must not duplicate.
import { createHash, randomBytes } from 'node:crypto';

// Random bytes are drawn 4 KB at a time: one call per 341 ids instead of one per id (the
// publish path makes an id per event).
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let offset = POOL_SIZE;

export function newId(prefix: string): string {
  if (offset + 12 > pool.length) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  const id = pool.toString('base64url', offset, offset + 12);
  offset += 12;
  return `${prefix}_${id}`;
}

/** Deterministic delivery id: a fan-out retried after a crash re-creates the same ids. */
export function deliveryId(eventId: string, subscriptionId: string, series = 0): string {
  const h = createHash('sha256').update(`${eventId}\n${subscriptionId}\n${series}`).digest('base64url');
  return `dlv_${h.slice(0, 24)}`;
}
