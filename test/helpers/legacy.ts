// Data as Hookline 0.3 wrote it, for the upgrade tests: secrets sealed without additional data
// (`enc:v1:`), events and idempotency claims keyed by event id alone.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { HooklineEvent } from '../../src/domain/event.js';
import type { Keys } from '../../src/redis/client.js';
import { execAll } from '../../src/store/delivery-store.js';

/** A secret sealed as 0.3 sealed it: AES-256-GCM, no additional data. */
export function sealV1(base64Key: string, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(base64Key, 'base64'), iv);
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  const parts = [iv, cipher.getAuthTag(), ct].map((b) => b.toString('base64url'));
  return `enc:v1:${parts.join('.')}`;
}

/** A delivery id as 0.3 derived it: event id and destination, no tenant. */
export function deliveryIdV03(eventId: string, destination: string, series = 0): string {
  const h = createHash('sha256').update(`${eventId}\n${destination}\n${series}`).digest('base64url');
  return `dlv_${h.slice(0, 24)}`;
}

/**
 * An event as a 0.3 fan-out stored it (`<prefix>:evt:<id>`, a hash of its JSON and delivery ids)
 * with a pending record per destination (a subscription id, or `report` for its deliveryReport),
 * and the 0.3 idempotency claim (`<prefix>:idem:<id>`, the tenant as value). Returns the
 * delivery ids, in order.
 */
export async function storeV03Event(
  redis: Redis,
  keys: Keys,
  event: HooklineEvent,
  destinations: string[],
  ttl = 3600,
): Promise<string[]> {
  const ids = destinations.map((s) => deliveryIdV03(event.id, s === 'report' ? `report:${event.id}` : s));
  const legacyEvent = `${keys.prefix}:evt:${event.id}`;
  const pipe = redis
    .pipeline()
    .hset(legacyEvent, 'e', JSON.stringify(event), ...ids.flatMap((id) => [id, '']))
    .expire(legacyEvent, ttl)
    .set(`${keys.prefix}:idem:${event.id}`, event.tenantId, 'EX', ttl);
  destinations.forEach((subscriptionId, i) => {
    const id = ids[i]!;
    pipe
      .hset(keys.delivery(id), {
        eventId: event.id,
        subscriptionId,
        tenantId: event.tenantId,
        ...(subscriptionId === 'report' ? { target: 'deliveryReport' } : {}),
        createdAt: event.occurredAt,
        status: 'pending',
        updatedAt: event.occurredAt,
      })
      .expire(keys.delivery(id), ttl)
      .zadd(keys.subDeliveries(subscriptionId), Date.now(), id)
      .expire(keys.subDeliveries(subscriptionId), ttl);
  });
  await execAll(pipe);
  return ids;
}
