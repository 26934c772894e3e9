// Pipelines whose failures are not mistaken for answers.
import type { ChainableCommander } from 'ioredis';

/**
 * Runs a pipeline and returns its replies, throwing the first command error. ioredis reports a
 * failed command (Redis down, max retries reached) inside the replies instead of rejecting, so a
 * caller that only looks at values would take a lost write for "nothing to do".
 */
export async function execAll(pipe: ChainableCommander): Promise<unknown[]> {
  const replies = (await pipe.exec()) ?? [];
  const failed = replies.find(([err]) => err);
  if (failed) throw failed[0];
  return replies.map(([, v]) => v);
}

/** A flat [field, value, field, value, …] reply (HGETALL inside a script, XINFO) as an object. */
export function fromPairs<V>(flat: readonly V[]): Record<string, V> {
  const out: Record<string, V> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1]!;
  return out;
}
