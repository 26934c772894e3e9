// OAuth2 access tokens for delivery workers: cached encrypted in Redis for every process (with a
// small in-process cache in front), fetched once at a time per subscription across processes.
import type { LookupFunction } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SecretBox } from '../../crypto.js';
import { headerValueProblem } from '../../domain/http-header.js';
import type { Subscription } from '../../domain/subscription.js';
import { safeUrl, type Logger } from '../../logger.js';
import type { Keys, Redis } from '../../redis/client.js';
import { createTokenCache, type CachedToken } from './oauth2-cache.js';
import { OAuthTokenError } from './oauth2-error.js';
import { tryLock, unlock } from './oauth2-lock.js';
import { requestToken, type OAuth2Settings, type TokenResponse } from './oauth2-request.js';
import type { TokenProvider } from './types.js';
import { ATTR, SPAN, traced } from '../../telemetry/spans.js';

export { OAuthTokenError } from './oauth2-error.js';

export interface OAuthTokenProviderDeps {
  redis: Redis;
  keys: Keys;
  box: SecretBox;
  logger: Logger;
  /** Saves a rotated refresh token on the subscription (the store encrypts it). Must not bump authVersion. */
  saveRefreshToken: (subId: string, refreshToken: string) => Promise<void>;
  /** Clock for token expiry, epoch ms. Default: Date.now. */
  now?: () => number;
  /** Bound on one token request, connect to last byte. Default: 10000 ms. */
  requestTimeoutMs?: number;
  /** DNS lookup for token hosts (pass the SSRF guard's). Default: the system resolver. */
  lookup?: LookupFunction;
  /** Called once per real token-endpoint request (not for cache hits), for metrics. */
  onTokenRequest?: (outcome: 'success' | 'error') => void;
}

/** Tokens are dropped this long before the endpoint says they expire (SPEC §5). */
const EXPIRY_MARGIN_S = 30;
const DEFAULT_EXPIRES_IN_S = 3600;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** The lock outlives a bounded request by this much, so it only expires when its holder died. */
const LOCK_MARGIN_MS = 1000;
/**
 * Longest getToken takes with the default request timeout (Redis latency aside): waiting for
 * another worker's request up to its lock's end, then, that worker having died, making its own.
 */
export const TOKEN_WAIT_MAX_MS = 2 * DEFAULT_REQUEST_TIMEOUT_MS + 2 * LOCK_MARGIN_MS;
const POLL_MIN_MS = 10;
const POLL_MAX_MS = 200;
/** Past this many subscriptions in memory, expired entries are swept on insert. */
const LOCAL_SWEEP_SIZE = 1000;

export function createOAuthTokenProvider(deps: OAuthTokenProviderDeps): TokenProvider {
  const { redis, keys, logger } = deps;
  const now = deps.now ?? Date.now;
  const requestTimeoutMs = deps.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const lockTtlMs = requestTimeoutMs + LOCK_MARGIN_MS;
  const maxWaitMs = lockTtlMs + LOCK_MARGIN_MS;
  const cache = createTokenCache({ redis, keys, box: deps.box, logger, now });

  const local = new Map<string, CachedToken>();
  const inflight = new Map<string, Promise<string>>();

  function remember(subId: string, entry: CachedToken): string {
    if (local.size >= LOCAL_SWEEP_SIZE) {
      const t = now();
      for (const [id, e] of local) if (e.exp <= t) local.delete(id);
    }
    local.set(subId, entry);
    return entry.token;
  }

  async function persistRotation(sub: Subscription, used: string | undefined, res: TokenResponse) {
    const next = res.refreshToken;
    if (!next || next === used) return;
    const [cached, saved] = await Promise.allSettled([
      cache.writeRefreshToken(sub, next),
      deps.saveRefreshToken(sub.id, next),
    ]);
    if (cached.status === 'rejected' && saved.status === 'rejected') {
      throw new OAuthTokenError('could not store the rotated refresh token');
    }
    if (saved.status === 'rejected') {
      logger.error(
        { subscriptionId: sub.id, reason: String(saved.reason) },
        'oauth2 refresh token not saved',
      );
    }
    if (cached.status === 'rejected') {
      logger.warn(
        { subscriptionId: sub.id, reason: String(cached.reason) },
        'oauth2 refresh token not cached',
      );
    }
  }

  /** Runs holding the lock: re-check the cache (the last holder may just have filled it), then fetch. */
  async function fetchUnderLock(sub: Subscription, settings: OAuth2Settings, holder: string) {
    try {
      const cached = await cache.readToken(sub);
      if (cached) return remember(sub.id, cached);

      const refreshToken =
        settings.grantType === 'refresh_token'
          ? ((await cache.readRefreshToken(sub)) ?? settings.refreshToken)
          : undefined;
      // Persisting a rotation is chained to the request itself so it happens even if the answer
      // comes after we stopped waiting: by then the old refresh token is spent.
      const work = requestToken(settings, {
        timeoutMs: requestTimeoutMs,
        refreshToken,
        lookup: deps.lookup,
      }).then(async (res) => {
        await persistRotation(sub, refreshToken, res);
        assertSendable(res.accessToken, settings.tokenUrl);
        return res;
      });
      const res = await withDeadline(work, requestTimeoutMs).catch((err: unknown) => {
        deps.onTokenRequest?.('error');
        throw err;
      });
      deps.onTokenRequest?.('success');

      const ttlS = Math.max(
        1,
        (res.expiresIn ?? settings.expiresIn ?? DEFAULT_EXPIRES_IN_S) - EXPIRY_MARGIN_S,
      );
      const entry = await cache.writeToken(sub, res.accessToken, Math.floor(ttlS * 1000));
      logger.debug({ subscriptionId: sub.id, grantType: settings.grantType, ttlS }, 'oauth2 token fetched');
      return remember(sub.id, entry);
    } catch (err) {
      if (err instanceof OAuthTokenError) {
        logger.warn({ subscriptionId: sub.id, reason: err.message }, 'oauth2 token request failed');
        // Written before the lock is released, so the processes that waited on this holder fail
        // with its error instead of asking a failing endpoint again.
        await cache.writeFailure(sub, holder, err.message).catch(() => undefined);
      }
      throw err;
    } finally {
      await unlock(redis, keys.oauthLock(sub.id), holder).catch((err: unknown) => {
        logger.warn(
          { subscriptionId: sub.id, reason: String(err) },
          'oauth2 lock not released; it will expire',
        );
      });
    }
  }

  /** Cross-process single flight: take the lock and fetch, or wait for the holder's token or failure. */
  async function load(sub: Subscription, settings: OAuth2Settings): Promise<string> {
    const deadline = performance.now() + maxWaitMs;
    let waitedOn: string | undefined;
    let delay = POLL_MIN_MS;
    for (;;) {
      const { token, failure, holder } = await cache.snapshot(sub);
      if (token) return remember(sub.id, token);
      if (failure && waitedOn && failure.holder === waitedOn) throw new OAuthTokenError(failure.message);
      if (!holder) {
        const mine = await tryLock(redis, keys.oauthLock(sub.id), lockTtlMs);
        if (mine) return fetchUnderLock(sub, settings, mine);
        continue; // lost the race: the next snapshot shows the winner
      }
      waitedOn = holder;
      if (performance.now() + delay > deadline) {
        throw new OAuthTokenError(
          `gave up after ${maxWaitMs} ms waiting for another worker to fetch the token`,
        );
      }
      await sleep(delay);
      delay = Math.min(delay * 2, POLL_MAX_MS);
    }
  }

  return {
    async getToken(sub) {
      const settings = sub.oauth2;
      if (sub.authType !== 'oauth2' || !settings)
        throw new OAuthTokenError('subscription has no oauth2 settings');

      const hit = local.get(sub.id);
      if (hit && hit.v === sub.authVersion && hit.exp > now()) return hit.token;

      const flightKey = `${sub.id}#${sub.authVersion}`;
      let flight = inflight.get(flightKey);
      if (!flight) {
        // A span under the attempt's while tracing is on (cache misses only).
        flight = traced(
          SPAN.token,
          { [ATTR.subscriptionId]: sub.id, 'hookline.oauth2.grant_type': settings.grantType },
          () => load(sub, settings),
        ).finally(() => inflight.delete(flightKey));
        inflight.set(flightKey, flight);
      }
      return flight;
    },

    async invalidate(subscriptionId) {
      local.delete(subscriptionId);
      await cache.dropToken(subscriptionId);
    },
  };
}

/**
 * The token travels in an Authorization header: one with CR/LF or other characters a header
 * cannot carry is an endpoint failure, never cached nor sent (checked after a rotated refresh
 * token is stored, as the old one is spent either way).
 */
function assertSendable(accessToken: string, tokenUrl: string): void {
  const problem = headerValueProblem(`Bearer ${accessToken}`);
  if (problem) {
    throw new OAuthTokenError(
      `token endpoint ${safeUrl(tokenUrl)} answered an access_token that cannot be sent in a header: it ${problem}`,
    );
  }
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new OAuthTokenError(`token endpoint did not answer within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
