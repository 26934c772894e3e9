// What clients see of stored objects: secrets masked (at most 4 characters, then ****).
import { mask } from '../crypto.js';
import type { Subscription } from '../domain/subscription.js';

export function presentSubscription(sub: Subscription, opts: { admin?: boolean } = {}) {
  const { signingSecrets: _signing, authVersion: _v, deletedAt, ...rest } = sub;
  const out: Record<string, unknown> = { ...rest };
  if (sub.secret) out.secret = { headerName: sub.secret.headerName, value: mask(sub.secret.value) };
  if (sub.bearer) out.bearer = { token: mask(sub.bearer.token) };
  if (sub.basic) out.basic = { username: sub.basic.username, password: mask(sub.basic.password) };
  if (sub.oauth2) {
    out.oauth2 = {
      ...sub.oauth2,
      clientSecret: mask(sub.oauth2.clientSecret),
      ...(sub.oauth2.refreshToken ? { refreshToken: mask(sub.oauth2.refreshToken) } : {}),
    };
  }
  if (opts.admin && deletedAt) out.deletedAt = deletedAt;
  return out;
}

export type PresentedSubscription = ReturnType<typeof presentSubscription>;
