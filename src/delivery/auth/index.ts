// Builds the auth header for a subscription's authType.
import type { Subscription } from '../../domain/subscription.js';
import type { AuthDeps } from './types.js';

export type { AuthDeps, TokenProvider } from './types.js';

export async function authHeaders(sub: Subscription, deps: AuthDeps): Promise<Record<string, string>> {
  switch (sub.authType) {
    case 'secret':
      return sub.secret ? { [sub.secret.headerName.toLowerCase()]: sub.secret.value } : {};
    case 'bearer':
      return sub.bearer ? { authorization: `Bearer ${sub.bearer.token}` } : {};
    case 'basic':
      return sub.basic
        ? {
            authorization: `Basic ${Buffer.from(`${sub.basic.username}:${sub.basic.password}`).toString('base64')}`,
          }
        : {};
    case 'oauth2': {
      if (!deps.tokens) throw new Error('oauth2 token provider not configured');
      return { authorization: `Bearer ${await deps.tokens.getToken(sub)}` };
    }
    default:
      return {};
  }
}
