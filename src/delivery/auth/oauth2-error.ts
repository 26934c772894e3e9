// The one error the OAuth2 token provider throws for token-endpoint trouble; messages never carry secrets.
import { DeliveryError } from '../errors.js';

/** The token endpoint failed or answered something unusable; the delivery attempt fails and is retried. */
export class OAuthTokenError extends DeliveryError {
  declare readonly code: 'oauth_token_error';

  constructor(message: string) {
    // No `cause`: HTTP client errors hold the request, whose headers carry the client secret.
    super('oauth_token_error', message, { retryable: true });
    this.name = 'OAuthTokenError';
  }
}
