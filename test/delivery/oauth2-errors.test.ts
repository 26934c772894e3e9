// OAuth2 token provider failures: every endpoint problem is an oauth_token_error without secrets,
// in bounded time; a holder's failure is shared with its waiters; dead or stuck lock holders.
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type LookupFunction } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createSecretBox } from '../../src/crypto.js';
import {
  createOAuthTokenProvider,
  OAuthTokenError,
  type OAuthTokenProviderDeps,
} from '../../src/delivery/auth/oauth2.js';
import type { Subscription } from '../../src/domain/subscription.js';
import { createLogger } from '../../src/logger.js';
import type { Keys, Redis } from '../../src/redis/client.js';
import { oauth2Subscription as makeSub, useProviderScope } from '../helpers/oauth2-provider.js';

const box = createSecretBox(randomBytes(32).toString('base64'));
const logger = createLogger('silent');

let keys: Keys;
let redis: Redis;

const { connect, tokenServer } = useProviderScope((scope) => ({ keys, redis } = scope));

function provider(over: Partial<OAuthTokenProviderDeps> = {}) {
  return createOAuthTokenProvider({
    redis,
    keys,
    box,
    logger,
    saveRefreshToken: async () => undefined,
    ...over,
  });
}

/** Awaits the rejection and checks it is an oauth_token_error naming none of the given secrets. */
async function tokenError(
  promise: Promise<unknown>,
  secrets: (string | undefined)[],
): Promise<OAuthTokenError> {
  const err = await promise.then(
    () => expect.fail('expected an OAuthTokenError'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OAuthTokenError);
  const tokenErr = err as OAuthTokenError;
  expect(tokenErr.code).toBe('oauth_token_error');
  expect(tokenErr.retryable).toBe(true);
  for (const secret of secrets) if (secret) expect(tokenErr.message).not.toContain(secret);
  return tokenErr;
}

async function closedPort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('token endpoint answers', () => {
  it('invalid_grant: names the error and description, redacting the echoed refresh token', async () => {
    const server = await tokenServer({ mode: 'invalid_grant' });
    const sub = makeSub(server, { grantType: 'refresh_token', refreshToken: server.refreshToken });

    const err = await tokenError(provider().getToken(sub), [server.config.clientSecret, server.refreshToken]);

    expect(err.message).toBe(
      'token endpoint answered 400 invalid_grant: refresh token [redacted] is invalid, expired or revoked',
    );
  });

  it('wrong client authentication method: 401 invalid_client without the secret', async () => {
    const server = await tokenServer({ authMethod: 'client_secret_post' });

    const err = await tokenError(provider().getToken(makeSub(server)), [server.config.clientSecret]);

    expect(err.message).toMatch(/^token endpoint answered 401 invalid_client: /);
  });

  it('500 with an HTML page', async () => {
    const server = await tokenServer({ mode: 'server_error' });

    const err = await tokenError(provider().getToken(makeSub(server)), [server.config.clientSecret]);

    expect(err.message).toBe('token endpoint answered 500 but the body is not JSON');
  });

  it('200 with garbage', async () => {
    const server = await tokenServer({ mode: 'garbage' });

    const err = await tokenError(provider().getToken(makeSub(server)), [server.config.clientSecret]);

    expect(err.message).toBe('token endpoint answered 200 but the body is not JSON');
  });

  it('200 JSON without an access_token', async () => {
    const server = await tokenServer({ mode: 'no_access_token' });

    const err = await tokenError(provider().getToken(makeSub(server)), [server.config.clientSecret]);

    expect(err.message).toMatch(/answered without an access_token$/);
  });

  it('a subscription without oauth2 settings', async () => {
    const server = await tokenServer();
    const sub: Subscription = { ...makeSub(server), authType: 'bearer', oauth2: undefined };

    await tokenError(provider().getToken(sub), []);
    expect(server.count).toBe(0);
  });
});

describe('unreachable or slow endpoints', () => {
  it('endpoint down (connection refused)', async () => {
    const server = await tokenServer();
    const sub = makeSub(server, {
      tokenUrl: `http://127.0.0.1:${await closedPort()}/token?api_key=k-123456`,
    });

    const err = await tokenError(provider().getToken(sub), [server.config.clientSecret, 'k-123456']);

    expect(err.message).toMatch(
      /^token endpoint http:\/\/127\.0\.0\.1:\d+\/token\?… unreachable \(ECONNREFUSED\)$/,
    );
  });

  it('a hanging endpoint fails within the request timeout and frees the lock', async () => {
    const server = await tokenServer({ mode: 'hang' });
    const sub = makeSub(server);
    const started = performance.now();

    const err = await tokenError(provider({ requestTimeoutMs: 300 }).getToken(sub), [
      server.config.clientSecret,
    ]);

    expect(performance.now() - started).toBeLessThan(1500);
    expect(err.message).toMatch(/did not answer within 300 ms$/);
    expect(await redis.exists(keys.oauthLock(sub.id))).toBe(0);
  });

  it('a slow endpoint within the timeout is fine', async () => {
    const server = await tokenServer({ delayMs: 150 });

    expect(await provider({ requestTimeoutMs: 2000 }).getToken(makeSub(server))).toBe(server.issued[0]);
  });

  it('uses the injected DNS lookup (the SSRF guard hook)', async () => {
    const server = await tokenServer();
    const port = new URL(server.url).port;
    const toLoopback: LookupFunction = (_host, options, callback) => {
      if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    };
    const refuse: LookupFunction = (host, _options, callback) => {
      const err = Object.assign(new Error(`${host} is not allowed`), { code: 'ESSRF' });
      callback(err, '', 4);
    };
    const sub = makeSub(server, { tokenUrl: `http://token.example.test:${port}/token` });

    expect(await provider({ lookup: toLoopback }).getToken(sub)).toBe(server.issued[0]);
    const err = await tokenError(provider({ lookup: refuse }).getToken({ ...sub, id: 'sub_2' }), []);
    expect(err.message).toMatch(/unreachable \(ESSRF\)$/);
  });
});

describe('failures and locks across processes', () => {
  it("a holder's failure reaches its waiters without a second request, and does not stick", async () => {
    const server = await tokenServer({ mode: 'server_error', delayMs: 100 });
    const sub = makeSub(server);
    const a = provider();
    const b = provider({ redis: connect() });

    const first = a.getToken(sub);
    await server.waitForRequests(1);
    const second = b.getToken(sub);
    const [ea, eb] = await Promise.all([tokenError(first, []), tokenError(second, [])]);

    expect(ea.message).toBe('token endpoint answered 500 but the body is not JSON');
    expect(eb.message).toBe(ea.message);
    expect(server.count).toBe(1);

    server.config.mode = 'ok';
    expect(await b.getToken(sub)).toBe(server.issued[0]);
  });

  it('takes over once a dead holder’s lock expires', async () => {
    const server = await tokenServer();
    const sub = makeSub(server);
    await redis.set(keys.oauthLock(sub.id), 'crashed-worker', 'PX', 300);

    expect(await provider().getToken(sub)).toBe(server.issued[0]);
    expect(server.count).toBe(1);
  });

  it('gives up in bounded time while another worker holds the lock', async () => {
    const server = await tokenServer();
    const sub = makeSub(server);
    await redis.set(keys.oauthLock(sub.id), 'stuck-worker', 'PX', 60_000);
    const started = performance.now();

    const err = await tokenError(provider({ requestTimeoutMs: 200 }).getToken(sub), []);

    expect(err.message).toMatch(/^gave up after \d+ ms waiting for another worker/);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(server.count).toBe(0);
  });
});
