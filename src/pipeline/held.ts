// Deliveries held while their subscription is paused, disabled or breaker-open wait as delayed
// jobs listed in a per-subscription set; releasing promotes them so they run at once.
import type { Context } from './context.js';

/** Promotes every held delivery of a subscription; returns how many were released. */
export async function releaseHeld(
  ctx: Pick<Context, 'redis' | 'keys' | 'deliveriesQueue'>,
  subscriptionId: string,
): Promise<number> {
  const key = ctx.keys.subHeld(subscriptionId);
  const ids = await ctx.redis.smembers(key);
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
  if (ids.length > 0) await ctx.redis.srem(key, ...ids);
  return released;
}
