// A GET answer sent back as a PUT or PATCH carries masked secrets (4 characters then ****):
// such an echo keeps the stored secret instead of saving the mask.
import { mask } from '../crypto.js';
import type { Subscription, SubscriptionInput } from '../domain/subscription.js';

/** True when `given` is what a response showed of `stored`: a masked secret sent back unchanged. */
export const isMaskedEcho = (given: string | undefined, stored: string | undefined): boolean =>
  given !== undefined && stored !== undefined && given === mask(stored);

/** The input with each masked echo replaced by the stored secret; customHeaders match by name. */
export function unmaskSecrets(input: SubscriptionInput, current: Subscription): SubscriptionInput {
  const keep = (given: string | undefined, stored: string | undefined) =>
    isMaskedEcho(given, stored) ? stored : given;
  const out = structuredClone(input);
  if (out.secret && current.secret) out.secret.value = keep(out.secret.value, current.secret.value)!;
  if (out.bearer && current.bearer) out.bearer.token = keep(out.bearer.token, current.bearer.token)!;
  if (out.basic && current.basic) out.basic.password = keep(out.basic.password, current.basic.password)!;
  if (out.oauth2 && current.oauth2) {
    out.oauth2.clientSecret = keep(out.oauth2.clientSecret, current.oauth2.clientSecret)!;
    const refresh = keep(out.oauth2.refreshToken, current.oauth2.refreshToken);
    if (refresh !== undefined) out.oauth2.refreshToken = refresh;
  }
  if (out.customHeaders && current.customHeaders) {
    for (const [name, value] of Object.entries(out.customHeaders))
      out.customHeaders[name] = keep(
        value,
        Object.hasOwn(current.customHeaders, name) ? current.customHeaders[name] : undefined,
      )!;
  }
  return out;
}
