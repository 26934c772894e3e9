// SSRF guard wiring (SPEC §7): the save-time URL check behind ctx.urlGuard, and the shared
// Agent whose connector re-checks every resolved address (DNS rebinding fails at connect).
import type { Dispatcher } from 'undici';
import type { Config } from '../config.js';
import type { Context } from '../context.js';
import { HooklineError, type FieldError } from '../domain/errors.js';
import { createAgent } from './http-client.js';
import {
  checkUrl,
  createSsrfPolicy,
  createSsrfSafeConnect,
  type SsrfLookup,
  type SsrfPolicy,
} from './ssrf.js';

export interface SecurityOptions {
  /** A resolver for tests (maps made-up hostnames to loopback addresses). */
  lookup?: SsrfLookup;
}

export const policyFor = (config: Config): SsrfPolicy =>
  createSsrfPolicy({ allowedCidrs: config.ALLOWED_PRIVATE_CIDRS });

/** The process's one delivery Agent, SSRF-checked at connect time. */
export function createGuardedAgent(config: Config, opts: SecurityOptions = {}): Dispatcher {
  return createAgent({
    connectionsPerOrigin: config.MAX_CONNECTIONS_PER_ORIGIN,
    connect: createSsrfSafeConnect(policyFor(config), {
      lookup: opts.lookup,
      connector: { timeout: 10_000 },
    }),
  });
}

export function installSecurity(ctx: Context, opts: SecurityOptions = {}): void {
  const policy = policyFor(ctx.config);
  ctx.urlGuard = async (url: string, path: string): Promise<FieldError[]> => {
    const res = await checkUrl(url, policy, { lookup: opts.lookup });
    if (res.ok) return [];
    // DNS that is down is not the caller's fault: answer 503 so they retry.
    if (res.transient)
      throw new HooklineError('unavailable', `could not resolve the host of ${path}; retry later`);
    return [{ path, message: `ssrf_blocked: ${res.reason}` }];
  };
}
