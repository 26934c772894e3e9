// Stall detection: a process whose delivery slots have all been busy, with none freed, for
// longer than any delivery can hold one when nothing is wrong is stuck, not busy. /readyz and
// the hookline_delivery_stalled gauge report it (security finding 1: a jammed HTTP pool once
// held every slot for good while the process still said it was ready).
import type { Config } from '../config.js';
import { TIMEOUT_MS_MAX } from '../domain/subscription.js';
import type { Logger } from '../logger.js';
import { DEADLINE_MARGIN_MS } from '../delivery/attempt.js';
import { TOKEN_WAIT_MAX_MS } from '../delivery/auth/oauth2.js';
import type { Slots } from './slots.js';

/**
 * The longest one delivery holds a slot when nothing is wrong: two requests (a 401 from an
 * OAuth2 subscriber is retried once at once) of at most the largest timeoutMs plus Hookline's
 * deadline margin, each after an OAuth2 token wait, plus 4 s for rate-limit waits and Redis.
 * All slots busy with none freed for longer than this cannot be slow subscribers alone.
 */
const LONGEST_HOLD_MS = 2 * (TIMEOUT_MS_MAX + DEADLINE_MARGIN_MS + TOKEN_WAIT_MAX_MS) + 4_000;

/** DELIVERY_STALL_MS, else LONGEST_HOLD_MS (110 s). */
export const stallThresholdMs = (config: Pick<Config, 'DELIVERY_STALL_MS'>): number =>
  config.DELIVERY_STALL_MS ?? LONGEST_HOLD_MS;

export interface StallState {
  stalled: boolean;
  /** How long every slot has been busy with none freed (0 while one is free). */
  fullForMs: number;
  thresholdMs: number;
  slots: number;
}

/** Reads the stall state of `slots` when asked (probes, scrapes); logs when it changes. */
export function watchStall(slots: Slots, thresholdMs: number, logger?: Logger): () => StallState {
  let was = false;
  return () => {
    const fullForMs = slots.fullForMs;
    const stalled = fullForMs > thresholdMs;
    if (stalled !== was) {
      was = stalled;
      if (stalled)
        logger?.error(
          { slots: slots.size, fullForMs: Math.round(fullForMs), thresholdMs },
          'delivery stalled: every slot busy with none freed; not ready',
        );
      else logger?.info({ slots: slots.size }, 'delivery slots turning over again; ready');
    }
    return { stalled, fullForMs, thresholdMs, slots: slots.size };
  };
}
