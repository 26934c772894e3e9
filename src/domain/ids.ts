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

/**
 * Deterministic delivery id: a fan-out retried after a crash re-creates the same ids. Event ids
 * are per tenant, so the tenant is part of it: two tenants' events of the same id never share a
 * delivery, a job or a watch job. (The tenant comes last: nothing before it can hold a newline.)
 */
export function deliveryId(tenantId: string, eventId: string, destination: string, series = 0): string {
  const h = createHash('sha256')
    .update(`${eventId}\n${destination}\n${series}\n${tenantId}`)
    .digest('base64url');
  return `dlv_${h.slice(0, 24)}`;
}
