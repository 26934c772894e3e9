// Identifiers: random ones for new resources, deterministic ones where retries must not duplicate.
import { createHash, randomBytes } from 'node:crypto';

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

/** Deterministic delivery id: a fan-out retried after a crash re-creates the same ids. */
export function deliveryId(eventId: string, subscriptionId: string, series = 0): string {
  const h = createHash('sha256').update(`${eventId}\n${subscriptionId}\n${series}`).digest('base64url');
  return `dlv_${h.slice(0, 24)}`;
}
