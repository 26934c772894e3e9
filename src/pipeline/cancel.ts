// Cancels the unfinished deliveries of a (soft-deleted) subscription: waiting and delayed jobs
// are removed and their records end `cancelled`. A job running right now cannot be removed; it
// finishes its attempt and the worker cancels its next run, as it sees the deletion. A pending
// delivery with no job is a fan-out's direct attempt (src/pipeline/direct.ts), or one whose job is
// about to be added: whatever runs it next sees the deletion and cancels it the same way.
import type { Context } from './context.js';

const BATCH = 500;
const PARALLEL = 20;
const REMOVABLE = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

type CancelDeps = Pick<Context, 'redis' | 'keys' | 'deliveries' | 'deliveriesQueue'>;

/** Walks the subscription's delivery index; returns how many deliveries were cancelled. */
export async function cancelPending(ctx: CancelDeps, subscriptionId: string): Promise<number> {
  const index = [ctx.keys.subDeliveries(subscriptionId)];
  let cancelled = 0;
  let cursor: string | undefined;
  do {
    const page = await ctx.deliveries.scan(index, {
      limit: BATCH,
      budget: BATCH,
      cursor,
      withAttempts: false,
    });
    const open = page.data.filter((r) => r.status === 'pending' || r.status === 'retrying');
    // A few at a time: each removal is a few round trips, and a busy subscription has many.
    for (let i = 0; i < open.length; i += PARALLEL) {
      const done = await Promise.all(
        open.slice(i, i + PARALLEL).map(async (r) => {
          if (!(await removeJob(ctx, r.id))) return 0;
          await ctx.deliveries.setStatus(r.id, 'cancelled');
          return 1;
        }),
      );
      cancelled += done.reduce<number>((a, b) => a + b, 0);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  // Held jobs were delayed jobs, removed above; nothing is left to release.
  await ctx.redis.del(ctx.keys.subHeld(subscriptionId));
  return cancelled;
}

/**
 * True when the job was removed now. False when a worker holds it, it already finished, or there
 * is none (yet): its runner cancels it.
 */
async function removeJob(ctx: CancelDeps, id: string): Promise<boolean> {
  const job = await ctx.deliveriesQueue.getJob(id);
  if (!job) return false;
  const state = await job.getState();
  if (!REMOVABLE.has(state)) return false;
  try {
    await job.remove();
    return true;
  } catch {
    // Locked: a worker picked it up between the two calls; it will see the deletion.
    return false;
  }
}
