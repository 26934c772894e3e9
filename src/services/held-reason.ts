// Why a pending delivery waits (`heldReason`), worked out when it is shown rather than written on
// the delivery path: parked over its subscription's in-flight cap (the parked set says so), or
// its subscription is paused or disabled.
import type { DeliveryRecord, HeldReason } from '../domain/delivery-record.js';
import type { Context } from '../pipeline/context.js';
import { isSubscriptionTarget } from '../pipeline/targets.js';
import { parkedAmong } from '../resilience/in-flight.js';

type Deps = Pick<Context, 'redis' | 'keys' | 'subscriptions'>;

/** The records with `heldReason` on those pending that wait; one pipeline for a page. */
export async function withHeldReasons(ctx: Deps, records: DeliveryRecord[]): Promise<DeliveryRecord[]> {
  const pending = records.filter((r) => r.status === 'pending' && isSubscriptionTarget(r.subscriptionId));
  if (pending.length === 0) return records;
  const subIds = [...new Set(pending.map((r) => r.subscriptionId))];
  const [parked, subs] = await Promise.all([
    parkedAmong(ctx.redis, ctx.keys, pending),
    Promise.all(subIds.map((id) => ctx.subscriptions.get(id))),
  ]);
  const status = new Map(subIds.map((id, i) => [id, subs[i]?.status]));
  const reasons = new Map<string, HeldReason>();
  pending.forEach((r, i) => {
    const s = status.get(r.subscriptionId);
    if (s === 'paused') reasons.set(r.id, 'subscription_paused');
    else if (s === 'disabled') reasons.set(r.id, 'subscription_disabled');
    else if (parked[i]) reasons.set(r.id, 'in_flight_cap');
  });
  if (reasons.size === 0) return records;
  return records.map((r) => {
    const heldReason = reasons.get(r.id);
    return heldReason ? { ...r, heldReason } : r;
  });
}
