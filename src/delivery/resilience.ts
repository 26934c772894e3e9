// Circuit breaker, auto-disable and per-subscription rate limits, as delivery hooks.
import type { Context } from '../context.js';

export function installResilience(_ctx: Context): void {}
