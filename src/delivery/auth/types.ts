// The contract between auth strategies and the delivery attempt.
import type { Subscription } from '../../domain/subscription.js';

/** Supplies OAuth2 access tokens (cached across workers); see src/delivery/auth/oauth2.ts. */
export interface TokenProvider {
  /** A valid access token for the subscription, fetched once at a time across processes. */
  getToken(sub: Subscription): Promise<string>;
  /** Drops the cached token (after a 401, or when auth settings change). */
  invalidate(subscriptionId: string): Promise<void>;
}

export interface AuthDeps {
  tokens?: TokenProvider;
}
