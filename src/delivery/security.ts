// SSRF guard wiring (SPEC §7): the save-time URL check (ctx.urlGuard), and the shared
// Agent whose connector re-checks every resolved address (DNS rebinding fails at connect).
import type { Dispatcher } from 'undici';
import type { Logger } from '../logger.js';
import { HooklineError, type FieldError } from '../domain/errors.js';
import type { EventInput } from '../domain/event.js';
import { parseWebhookUrl } from '../domain/subscription.js';
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

/** The settings this module reads (src/config.ts owns them). */
export interface SecuritySettings {
  ALLOWED_PRIVATE_CIDRS: readonly string[];
  MAX_CONNECTIONS_PER_ORIGIN: number;
}

export const policyFor = (config: Pick<SecuritySettings, 'ALLOWED_PRIVATE_CIDRS'>): SsrfPolicy =>
  createSsrfPolicy({ allowedCidrs: config.ALLOWED_PRIVATE_CIDRS });

/** The process's one delivery Agent, SSRF-checked at connect time. */
export function createGuardedAgent(config: SecuritySettings, opts: SecurityOptions = {}): Dispatcher {
  return createAgent({
    connectionsPerOrigin: config.MAX_CONNECTIONS_PER_ORIGIN,
    connect: createSsrfSafeConnect(policyFor(config), {
      lookup: opts.lookup,
      connector: { timeout: 10_000 },
    }),
  });
}

/** The save-time SSRF check of a URL Hookline will send to: field errors under `path`. */
export type UrlGuard = (url: string, path: string) => Promise<FieldError[]>;

export function createUrlGuard(policy: SsrfPolicy, opts: SecurityOptions = {}): UrlGuard {
  return async (url, path) => {
    const res = await checkUrl(url, policy, { lookup: opts.lookup });
    if (res.ok) return [];
    // DNS that is down is not the caller's fault: answer 503 so they retry.
    if (res.transient)
      throw new HooklineError('unavailable', `could not resolve the host of ${path}; retry later`);
    return [{ path, message: `ssrf_blocked: ${res.reason}` }];
  };
}

/**
 * Events' own deliveryReport URLs, checked as a subscription's webhookUrl is (https only unless
 * allowed, then the SSRF guard): field errors under `base(i)/deliveryReport/webhookUrl`.
 */
export async function deliveryReportUrlErrors(
  events: Pick<EventInput, 'deliveryReport'>[],
  base: (i: number) => string,
  opts: { allowHttp: boolean; guard?: UrlGuard },
): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  for (const [i, e] of events.entries()) {
    if (!e.deliveryReport) continue;
    const path = `${base(i)}/deliveryReport/webhookUrl`;
    const urlErrors: FieldError[] = [];
    parseWebhookUrl(e.deliveryReport.webhookUrl, { allowHttp: opts.allowHttp }, path, urlErrors);
    if (urlErrors.length === 0 && opts.guard)
      urlErrors.push(...(await opts.guard(e.deliveryReport.webhookUrl, path)));
    errors.push(...urlErrors);
  }
  return errors;
}

/**
 * OPS_WEBHOOK_URL checked at start as a subscription's URL is at save time: what refuses it. A DNS
 * outage only warns (the connect-time guard still checks every address dialled).
 */
export async function opsUrlProblems(ctx: {
  config: { OPS_WEBHOOK_URL?: string | undefined };
  logger: Logger;
  urlGuard: UrlGuard;
}): Promise<string[]> {
  const url = ctx.config.OPS_WEBHOOK_URL;
  if (!url) return [];
  try {
    return (await ctx.urlGuard(url, 'OPS_WEBHOOK_URL')).map((e) => `${e.path} ${e.message}`);
  } catch (err) {
    ctx.logger.warn(
      { err },
      'OPS_WEBHOOK_URL could not be checked now (DNS); it is checked again at connect',
    );
    return [];
  }
}
