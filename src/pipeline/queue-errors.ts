// BullMQ queues and workers emit 'error' for each failed Redis command while Redis is away; with
// no listener they are printed raw to stderr (or thrown). Each distinct error is logged as one
// structured warning, then not again for a minute, its message stripped of URL credentials.
import type { Logger } from '../logger.js';

/** How long the same error of the same source stays quiet after it was logged. */
export const QUEUE_ERROR_QUIET_MS = 60_000;

/** Distinct errors remembered per source; past it the oldest are forgotten (logged again). */
const REMEMBERED = 100;

interface ErrorEmitter {
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** `scheme://user:pass@host` → `scheme://***@host`: a Redis URL may carry the password. */
const withoutCredentials = (s: string) => s.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@');

/** Logs `emitter`'s errors as warnings from `source` ('deliveries queue'), each once a minute. */
export function logQueueErrors(
  emitter: ErrorEmitter,
  logger: Logger,
  source: string,
  quietMs = QUEUE_ERROR_QUIET_MS,
): void {
  const loggedAt = new Map<string, number>();
  emitter.on('error', (err: Error & { code?: unknown }) => {
    const message = withoutCredentials(String(err?.message ?? err));
    const code = typeof err?.code === 'string' ? err.code : undefined;
    const key = `${err?.name}|${code}|${message}`;
    const now = Date.now();
    const at = loggedAt.get(key);
    if (at !== undefined && now - at < quietMs) return;
    loggedAt.delete(key);
    loggedAt.set(key, now);
    if (loggedAt.size > REMEMBERED) loggedAt.delete(loggedAt.keys().next().value!);
    logger.warn(
      { source, error: { name: err?.name, code, message } },
      `${source} error (the same one is not logged again for ${quietMs / 1000} s)`,
    );
  });
}
