// Retry delays (SPEC §5): the n-th retry waits min(base·2^(n-1), max) ± 20 % jitter;
// Retry-After (429/503) is honoured, capped at max. src/pipeline/jobs.ts registers it with BullMQ.

export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
}

export function retryDelay(n: number, s: BackoffSettings, random: () => number = Math.random): number {
  const exp = Math.min(s.baseMs * 2 ** Math.max(0, n - 1), s.maxMs);
  const jitter = 1 + (random() * 2 - 1) * 0.2;
  return Math.max(0, Math.round(exp * jitter));
}

export function retryAfterDelay(retryAfterMs: number, s: BackoffSettings): number {
  return Math.min(Math.max(0, retryAfterMs), s.maxMs);
}

/** Parses a Retry-After header (delta-seconds or HTTP date) into ms, if present and sane. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Errors thrown by the delivery processor carry the delay they computed (and recorded). */
export interface DelayCarrier {
  retryDelayMs?: number;
}
