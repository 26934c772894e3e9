// The Redis records behind the OAuth2 token provider, shared by every worker process: the sealed
// access token, the latest (rotated) refresh token and a lock holder's failure, each tagged with
// the subscription's authVersion so records of older auth settings are never used.
import { secretContext, type SecretBox } from '../../crypto.js';
import type { Subscription } from '../../domain/subscription.js';
import type { Logger } from '../../logger.js';
import type { Keys, Redis } from '../../redis/client.js';

/** A rotated refresh token is also saved on the subscription; this copy only bridges stale caches. */
const REFRESH_TOKEN_TTL_S = 30 * 24 * 3600;
/** Long enough for every waiter's next poll to see a holder's failure. */
const FAILURE_TTL_MS = 5000;

export interface CachedToken {
  v: number;
  /** Epoch ms after which the token is not used (the expiry margin is already applied). */
  exp: number;
  token: string;
}

export interface HolderFailure {
  /** The lock token of the process whose request failed. */
  holder: string;
  v: number;
  message: string;
}

export interface TokenCacheDeps {
  redis: Redis;
  keys: Keys;
  box: SecretBox;
  logger: Logger;
  now: () => number;
}

export type TokenCache = ReturnType<typeof createTokenCache>;

/** Binds a cached token's ciphertext to its tenant, subscription and kind (src/crypto.ts). */
const tokenContext = (sub: Subscription, kind: 'accessToken' | 'refreshToken') =>
  secretContext('oauth2', sub.tenantId, sub.id, kind);

export function createTokenCache({ redis, keys, box, logger, now }: TokenCacheDeps) {
  const tokenKey = (subId: string) => keys.oauthToken(subId);
  const refreshKey = (subId: string) => `${keys.oauthToken(subId)}:rt`;
  const failureKey = (subId: string) => `${keys.oauthToken(subId)}:err`;

  /** The token if it belongs to this authVersion and has not expired. */
  function usable(raw: string | null, sub: Subscription): CachedToken | undefined {
    if (!raw) return undefined;
    try {
      const stored = JSON.parse(raw) as { v: number; exp: number; sealed: string };
      if (stored.v !== sub.authVersion || !(stored.exp > now())) return undefined;
      return {
        v: stored.v,
        exp: stored.exp,
        token: box.decrypt(stored.sealed, tokenContext(sub, 'accessToken')),
      };
    } catch {
      logger.warn({ subscriptionId: sub.id }, 'oauth2 cached token unreadable; fetching a new one');
      return undefined;
    }
  }

  return {
    /** One round trip: a usable token, a holder's failure, and who holds the lock now. */
    async snapshot(sub: Subscription) {
      const [token, failure, holder] = await redis.mget(
        tokenKey(sub.id),
        failureKey(sub.id),
        keys.oauthLock(sub.id),
      );
      return { token: usable(token, sub), failure: parseFailure(failure, sub), holder };
    },

    async readToken(sub: Subscription): Promise<CachedToken | undefined> {
      return usable(await redis.get(tokenKey(sub.id)), sub);
    },

    async writeToken(sub: Subscription, accessToken: string, ttlMs: number): Promise<CachedToken> {
      const entry: CachedToken = { v: sub.authVersion, exp: now() + ttlMs, token: accessToken };
      const sealed = box.encrypt(accessToken, tokenContext(sub, 'accessToken'));
      const record = JSON.stringify({ v: entry.v, exp: entry.exp, sealed });
      await redis.set(tokenKey(sub.id), record, 'PX', ttlMs);
      return entry;
    },

    async dropToken(subId: string): Promise<void> {
      await redis.del(tokenKey(subId));
    },

    /** The refresh token last issued under this authVersion, if any process stored one. */
    async readRefreshToken(sub: Subscription): Promise<string | undefined> {
      const raw = await redis.get(refreshKey(sub.id));
      if (!raw) return undefined;
      try {
        const stored = JSON.parse(raw) as { v: number; sealed: string };
        return stored.v === sub.authVersion
          ? box.decrypt(stored.sealed, tokenContext(sub, 'refreshToken'))
          : undefined;
      } catch {
        logger.warn({ subscriptionId: sub.id }, 'oauth2 cached refresh token unreadable');
        return undefined;
      }
    },

    async writeRefreshToken(sub: Subscription, refreshToken: string): Promise<void> {
      const sealed = box.encrypt(refreshToken, tokenContext(sub, 'refreshToken'));
      const record = JSON.stringify({ v: sub.authVersion, sealed });
      await redis.set(refreshKey(sub.id), record, 'EX', REFRESH_TOKEN_TTL_S);
    },

    async writeFailure(sub: Subscription, holder: string, message: string): Promise<void> {
      const failure: HolderFailure = { holder, v: sub.authVersion, message };
      await redis.set(failureKey(sub.id), JSON.stringify(failure), 'PX', FAILURE_TTL_MS);
    },
  };
}

function parseFailure(raw: string | null, sub: Subscription): HolderFailure | undefined {
  if (!raw) return undefined;
  try {
    const failure = JSON.parse(raw) as HolderFailure;
    return failure.v === sub.authVersion ? failure : undefined;
  } catch {
    return undefined;
  }
}
