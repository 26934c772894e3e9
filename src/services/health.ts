// Readiness checks that talk to the stores (SPEC §4 /readyz): does Redis answer in time.
import type { Context } from '../pipeline/context.js';

/** A Redis that does not answer a PING within this is not ready. */
const REDIS_TIMEOUT_MS = 1000;

export function createHealth(ctx: Pick<Context, 'redis'>) {
  return {
    async redisAnswers(): Promise<boolean> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(reject, REDIS_TIMEOUT_MS, new Error('timeout'));
      });
      try {
        await Promise.race([ctx.redis.ping(), timeout]);
        return true;
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export type Health = ReturnType<typeof createHealth>;
