// Fair turns for sending (issue 18): an attempt about to send waits for its subscription's turn.
// Turns are given out round-robin across subscriptions, in slices of at most SLICE_MS of this
// process's time, each slice on a later turn of the event loop. A burst of one subscription (a
// fan-out of 50, whose requests would otherwise be built, signed and written one after another
// in one stretch of several ms) therefore takes turns with the few deliveries of another, and
// the Redis replies and responses that arrive meanwhile are handled between slices. The work is
// the same, only its order changes: nothing waits while the event loop is idle.
import { Fifo } from './fifo.js';

/** Longest stretch of turns given out before the event loop handles what else has arrived. */
export const SLICE_MS = 0.5;

/** Turns given between looks at the clock (a fan-out to 1,000 subscriptions is 1,000 turns). */
const PER_CHECK = 8;

/** Resolves when it is this subscription's turn to send (always on a later event-loop turn). */
export type SendTurns = (subscriptionId: string) => Promise<void>;

export function createSendTurns(sliceMs = SLICE_MS): SendTurns {
  /** Subscription → its waiters; Map order is the round-robin order (a served one goes last). */
  const queues = new Map<string, Fifo<() => void>>();
  let running = false;

  /** One slice: passes of one turn per subscription until sliceMs of their callers' work. */
  async function give(): Promise<void> {
    const until = performance.now() + sliceMs;
    do {
      let given = 0;
      for (const [subId, q] of queues) {
        q.shift()!();
        // To the back of the round (a Map visits a key set again during the loop: `given` ends it).
        queues.delete(subId);
        if (q.length > 0) queues.set(subId, q);
        if (++given === PER_CHECK) break;
      }
      // Queued behind the callers just resolved: resumes once they have run up to their send.
      await null;
    } while (queues.size > 0 && performance.now() < until);
    if (queues.size > 0) setImmediate(() => void give());
    else running = false;
  }

  return (subscriptionId) =>
    new Promise<void>((resolve) => {
      let q = queues.get(subscriptionId);
      if (!q) queues.set(subscriptionId, (q = new Fifo()));
      q.push(resolve);
      if (!running) {
        running = true;
        setImmediate(() => void give());
      }
    });
}
