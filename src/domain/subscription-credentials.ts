// Where stored credentials may go (security issue, item 4): a change of webhookUrl or
// oauth2.tokenUrl must carry the credentials that would follow it, so a caller who can update a
// subscription but does not know its secrets cannot send them to an address of their choosing.
import type { FieldError } from './errors.js';
import type { Subscription, SubscriptionInput } from './subscription.js';

/**
 * The credential fields the request itself must supply for `next` to be saved over `current`,
 * as the errors to report when it did not: the auth credentials when webhookUrl changes (the
 * secret header value, bearer token and basic password go there, and so do access tokens got
 * with the OAuth2 client secret and refresh token), the OAuth2 ones when tokenUrl changes.
 * customHeaders values are secrets too (SPEC §9): each stored one kept under a new webhookUrl
 * must be in the request as well.
 */
export function credentialsToResupply(current: Subscription, next: SubscriptionInput): FieldError[] {
  const paths: string[] = [];
  const oauth2 = () => {
    paths.push('/oauth2/clientSecret');
    if (next.oauth2?.grantType === 'refresh_token') paths.push('/oauth2/refreshToken');
  };
  let moved: string | undefined;
  if (next.webhookUrl !== current.webhookUrl) {
    moved = 'webhookUrl';
    if (next.authType === 'secret') paths.push('/secret/value');
    else if (next.authType === 'bearer') paths.push('/bearer/token');
    else if (next.authType === 'basic') paths.push('/basic/password');
    else if (next.authType === 'oauth2') oauth2();
    for (const name of Object.keys(next.customHeaders ?? {}))
      if (current.customHeaders && Object.hasOwn(current.customHeaders, name))
        paths.push(`/customHeaders/${name}`);
  } else if (next.oauth2 && current.oauth2 && next.oauth2.tokenUrl !== current.oauth2.tokenUrl) {
    moved = 'oauth2.tokenUrl';
    oauth2();
  }
  return paths.map((path) => ({
    path,
    message: `is required in the request when ${moved} changes (the stored value is not sent to a new address)`,
  }));
}
