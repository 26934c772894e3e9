// Plugs the OAuth2 token provider (shared Redis cache, single flight across workers) into the
// context. Token requests resolve hosts through the SSRF guard's lookup.
import type { Context } from '../../context.js';
import { createGuardedLookup } from '../ssrf.js';
import { policyFor, type SecurityOptions } from '../security.js';
import { createOAuthTokenProvider } from './oauth2.js';

export function installOAuth(ctx: Context, opts: SecurityOptions = {}): void {
  ctx.tokens = createOAuthTokenProvider({
    redis: ctx.redis,
    keys: ctx.keys,
    box: ctx.box,
    logger: ctx.logger,
    lookup: createGuardedLookup(policyFor(ctx.config), opts.lookup),
    onTokenRequest: (outcome) => ctx.metrics.oauthTokenRequest(outcome),
    // A rotated refresh token is state, not a settings change: authVersion stays.
    saveRefreshToken: async (subId, refreshToken) => {
      await ctx.subscriptionStore.patchState(subId, (s) =>
        s.oauth2 ? { ...s, oauth2: { ...s.oauth2, refreshToken } } : undefined,
      );
    },
  });
}
