// Every rule a subscription save obeys beyond its JSON schema (SPEC §3, §7, §9): URL policy,
// cross-field rules, headers, filter bounds, credentials a new address needs, the SSRF guard.
import { validationError } from '../domain/errors.js';
import { filterErrors } from '../domain/matching.js';
import { subscriptionRuleErrors, type Subscription, type SubscriptionInput } from '../domain/subscription.js';
import { credentialsToResupply } from '../domain/subscription-credentials.js';
import type { Context } from '../pipeline/context.js';
import { isMaskedEcho } from './masked-echo.js';

/** A save over a stored subscription: the stored one and the request body as it came (PUT or patch). */
export interface Change {
  current: Subscription;
  sent: unknown;
}

export type RuleDeps = Pick<Context, 'config' | 'urlGuard'>;

/** The value at a JSON Pointer of plain field names (no escapes), if any. */
function at(value: unknown, path: string): unknown {
  let v = value;
  for (const key of path.split('/').slice(1)) v = (v as Record<string, unknown> | undefined)?.[key];
  return v;
}

/**
 * Throws a validation_error (ssrf_blocked for a refused address) naming each problem of a save:
 * create, PUT, PATCH.
 */
export async function checkSubscription(
  ctx: RuleDeps,
  input: SubscriptionInput,
  change?: Change,
): Promise<void> {
  const errors = subscriptionRuleErrors(input, { allowHttp: ctx.config.ALLOW_HTTP_WEBHOOKS });
  if (input.filter)
    errors.push(
      ...filterErrors(input.filter, {
        maxBytes: ctx.config.MAX_FILTER_BYTES,
        maxDepth: ctx.config.MAX_FILTER_DEPTH,
      }),
    );
  if (change) {
    // A credential counts as supplied when the request carries it, and not as a masked echo.
    for (const e of credentialsToResupply(change.current, input)) {
      const given = at(change.sent, e.path);
      if (typeof given !== 'string' || isMaskedEcho(given, at(change.current, e.path) as string | undefined))
        errors.push(e);
    }
  }
  if (errors.length === 0 && ctx.urlGuard) {
    errors.push(...(await ctx.urlGuard(input.webhookUrl, '/webhookUrl')));
    if (input.oauth2) errors.push(...(await ctx.urlGuard(input.oauth2.tokenUrl, '/oauth2/tokenUrl')));
  }
  // validationError turns a refused address into ssrf_blocked.
  if (errors.length > 0) throw validationError(errors);
}
