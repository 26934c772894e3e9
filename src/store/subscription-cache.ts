// In-process cache of subscriptions for the fan-out and delivery hot paths. Every writer
// publishes a change on Redis pub/sub; every process drops what changed, so a change is seen
// everywhere within a round trip. A reconnect clears everything (messages may have been missed).
import type { Redis } from 'ioredis';
import type { Subscription } from '../domain/subscription.js';
import type { Keys } from '../redis/client.js';
import type { SubscriptionStore } from './subscription-store.js';

export interface SubscriptionCache {
  /** Live subscriptions of a tenant. */
  forTenant(tenantId: string): Promise<Subscription[]>;
  /** A subscription by id (deleted ones included, so the worker can cancel their deliveries). */
  get(id: string): Promise<Subscription | undefined>;
  /** Drops entries now (the writer's own process does not wait for its pub/sub echo). */
  invalidate(tenantId: string, id: string): void;
  close(): Promise<void>;
}

interface Entry<T> {
  value: Promise<T>;
  at: number;
}

export async function createSubscriptionCache(
  store: SubscriptionStore,
  subscriber: Redis,
  keys: Keys,
  opts: { maxAgeMs?: number } = {},
): Promise<SubscriptionCache> {
  const maxAge = opts.maxAgeMs ?? 60_000; // safety net only; pub/sub does the real work
  const tenants = new Map<string, Entry<Subscription[]>>();
  const byId = new Map<string, Entry<Subscription | undefined>>();

  const invalidate = (tenantId: string, id: string) => {
    tenants.delete(tenantId);
    byId.delete(id);
  };
  const clear = () => {
    tenants.clear();
    byId.clear();
  };

  subscriber.on('message', (channel: string, message: string) => {
    if (channel !== keys.subChanges()) return;
    const [tenantId, id] = message.split(' ');
    if (tenantId && id) invalidate(tenantId, id);
  });
  subscriber.on('ready', clear);
  await subscriber.subscribe(keys.subChanges());

  function cached<T>(map: Map<string, Entry<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const hit = map.get(key);
    const now = Date.now();
    if (hit && now - hit.at < maxAge) return hit.value;
    const value = load();
    const entry = { value, at: now };
    map.set(key, entry);
    // A failed load must not stick.
    value.catch(() => {
      if (map.get(key) === entry) map.delete(key);
    });
    return value;
  }

  return {
    forTenant: (tenantId) => cached(tenants, tenantId, () => store.listTenant(tenantId)),
    get: (id) => cached(byId, id, () => store.get(id)),
    invalidate,
    async close() {
      clear();
      subscriber.disconnect();
    },
  };
}
