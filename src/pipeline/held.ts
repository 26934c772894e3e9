// Deliveries held while their subscription is paused, disabled or breaker-open wait as delayed
// jobs listed in a per-subscription set; releasing promotes them so they run at once.
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/client.js';
import type { DeliveryJobData } from './jobs.js';

/** What releasing needs (the runner calls it too, so not the whole Context: no import circle). */
interface ReleaseCtx {
  redis: Redis;
  keys: Keys;
  deliveriesQueue: Queue<DeliveryJobData>;
}

/** Promotes every held delivery of a subscription; returns how many were released. */
export async function releaseHeld(ctx: ReleaseCtx, subscriptionId: string): Promise<number> {
  return releaseHeldIds(ctx, subscriptionId, await ctx.redis.smembers(ctx.keys.subHeld(subscriptionId)));
}

/**
 * Promotes the held deliveries `ids` of a subscription (those still delayed) and takes them out of
 * its held set; returns how many were released.
 */
export async function releaseHeldIds(
  ctx: ReleaseCtx,
  subscriptionId: string,
  ids: string[],
): Promise<number> {
  let released = 0;
  for (const id of ids) {
    const job = await ctx.deliveriesQueue.getJob(id);
    if (job && (await job.isDelayed())) {
      await job.promote().then(
        () => released++,
        () => undefined, // it became active meanwhile: nothing to release
      );
    }
  }
  if (ids.length > 0) await ctx.redis.srem(ctx.keys.subHeld(subscriptionId), ...ids);
  return released;
}
