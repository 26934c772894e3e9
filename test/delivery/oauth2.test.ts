// OAuth2 token provider against real Redis and a real token endpoint: caching, single flight,
// client authentication, grant parameters, expiry, refresh-token rotation, invalidation.
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createSecretBox, secretContext } from '../../src/crypto.js';
import { createOAuthTokenProvider, type OAuthTokenProviderDeps } from '../../src/delivery/auth/oauth2.js';
import { createLogger } from '../../src/logger.js';
import type { Keys, Redis } from '../../src/redis/client.js';
import { oauth2Subscription as makeSub, useProviderScope } from '../helpers/oauth2-provider.js';

const box = createSecretBox(randomBytes(32).toString('base64'));
const logger = createLogger('silent');

let keys: Keys;
let redis: Redis;
let clock: number;
let saveRefreshToken: ReturnType<typeof vi.fn<(subId: string, refreshToken: string) => Promise<void>>>;

// Each connection from `connect()` stands for one worker process.
const { connect, tokenServer } = useProviderScope((scope) => ({ keys, redis } = scope));
beforeEach(() => {
  clock = Date.now();
  saveRefreshToken = vi.fn(async () => undefined);
});

function provider(over: Partial<OAuthTokenProviderDeps> = {}) {
  return createOAuthTokenProvider({ redis, keys, box, logger, saveRefreshToken, now: () => clock, ...over });
}

describe('single flight', () => {
  it('50 concurrent requests on a cold cache cause one token request', async () => {
    const server = await tokenServer({ delayMs: 50 });
    const tokens = provider();
    const sub = makeSub(server);

    const results = await Promise.all(Array.from({ length: 50 }, () => tokens.getToken(sub)));

    expect(server.count).toBe(1);
    expect(new Set(results)).toEqual(new Set([server.issued[0]]));
  });

  it('two processes asking at once cause one token request', async () => {
    const server = await tokenServer({ delayMs: 100 });
    const a = provider();
    const b = provider({ redis: connect() });
    const sub = makeSub(server);

    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).getToken(sub)));

    expect(server.count).toBe(1);
    expect(new Set(results)).toEqual(new Set([server.issued[0]]));
    expect(await redis.exists(keys.oauthLock(sub.id))).toBe(0);
  });

  it('serves later calls from memory, and other processes from Redis', async () => {
    const server = await tokenServer();
    const a = provider();
    const sub = makeSub(server);
    const token = await a.getToken(sub);

    expect(await provider({ redis: connect() }).getToken(sub)).toBe(token);
    await redis.del(keys.oauthToken(sub.id)); // behind the provider's back: memory still answers
    expect(await a.getToken(sub)).toBe(token);
    expect(server.count).toBe(1);
  });
});

describe('client authentication and grant parameters', () => {
  it('client_secret_basic (the default) sends form-encoded credentials in the Authorization header', async () => {
    const server = await tokenServer({
      authMethod: 'client_secret_basic',
      clientId: 'id with:colon',
      clientSecret: 's3cr3t:+/ &%=',
    });

    expect(await provider().getToken(makeSub(server))).toBe(server.issued[0]);
    expect(server.requests[0]).toMatchObject({ clientAuth: 'basic', grantType: 'client_credentials' });
  });

  it('client_secret_post sends the credentials in the body', async () => {
    const server = await tokenServer({ authMethod: 'client_secret_post', clientSecret: 's3cr3t:+/ &%=' });

    expect(await provider().getToken(makeSub(server, { authMethod: 'client_secret_post' }))).toBe(
      server.issued[0],
    );
    expect(server.requests[0]).toMatchObject({ clientAuth: 'post', grantType: 'client_credentials' });
  });

  it('sends scopes space-separated and the audience', async () => {
    const server = await tokenServer({
      expectScope: 'read write:hooks',
      expectAudience: 'https://api.example.com',
    });
    const sub = makeSub(server, { scopes: ['read', 'write:hooks'], audience: 'https://api.example.com' });

    await provider().getToken(sub);

    expect(server.requests[0]).toMatchObject({
      scope: 'read write:hooks',
      audience: 'https://api.example.com',
    });
  });

  it('sends neither scope nor audience when none is set', async () => {
    const server = await tokenServer();

    await provider().getToken(makeSub(server));

    expect(server.requests[0]).toMatchObject({ scope: null, audience: null });
  });

  it('keeps the tokenUrl path and query string as written', async () => {
    const server = await tokenServer({ path: '//tenants/acme/oauth2/v2.0/token' });
    const sub = makeSub(server, {
      tokenUrl: `${server.origin}//tenants/acme/oauth2/v2.0/token?api-version=2&x=a%2Fb#frag`,
    });

    await provider().getToken(sub);

    expect(server.requests[0]!.url).toBe('//tenants/acme/oauth2/v2.0/token?api-version=2&x=a%2Fb');
  });
});

describe('expiry', () => {
  it('caches until expires_in minus 30 s, then fetches again', async () => {
    const server = await tokenServer({ expiresIn: 31 });
    const tokens = provider();
    const sub = makeSub(server);

    const first = await tokens.getToken(sub);
    const pttl = await redis.pttl(keys.oauthToken(sub.id));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1000);

    clock += 999;
    expect(await tokens.getToken(sub)).toBe(first);
    clock += 1;
    const second = await tokens.getToken(sub);

    expect(server.count).toBe(2);
    expect(second).not.toBe(first);
  });

  it('falls back to the subscription expiresIn, then to 3600 s', async () => {
    const server = await tokenServer({ expiresIn: null });

    await provider().getToken(makeSub(server, { expiresIn: 100 }, { id: 'sub_a' }));
    await provider().getToken(makeSub(server, {}, { id: 'sub_b' }));

    const a = await redis.pttl(keys.oauthToken('sub_a'));
    const b = await redis.pttl(keys.oauthToken('sub_b'));
    expect(a).toBeGreaterThan(69_000);
    expect(a).toBeLessThanOrEqual(70_000);
    expect(b).toBeGreaterThan(3_569_000);
    expect(b).toBeLessThanOrEqual(3_570_000);
  });

  it('never uses a token fetched under older auth settings', async () => {
    const server = await tokenServer();
    const sub = makeSub(server);
    const old = await provider().getToken(sub);

    const changed = { ...sub, authVersion: 2 };
    const fresh = await provider({ redis: connect() }).getToken(changed);

    expect(fresh).not.toBe(old);
    expect(server.count).toBe(2);
  });
});

describe('refresh_token grant', () => {
  it('stores a rotated refresh token and presents it next time, in every process', async () => {
    const server = await tokenServer({ rotateRefreshTokens: true });
    const initial = server.refreshToken;
    const sub = makeSub(server, { grantType: 'refresh_token', refreshToken: initial });
    const a = provider();

    await a.getToken(sub);
    const rotated = server.refreshToken;
    expect(server.requests[0]).toMatchObject({ grantType: 'refresh_token', refreshToken: initial });
    expect(saveRefreshToken).toHaveBeenCalledWith(sub.id, rotated);

    // The subscription object still carries the spent token; the rotated one must win.
    await a.invalidate(sub.id);
    await a.getToken(sub);
    expect(server.requests[1]!.refreshToken).toBe(rotated);

    const second = server.refreshToken;
    expect(saveRefreshToken).toHaveBeenLastCalledWith(sub.id, second);

    await a.invalidate(sub.id);
    const b = provider({ redis: connect() });
    expect(await b.getToken(sub)).toBe(server.issued[2]);
    expect(server.requests[2]!.refreshToken).toBe(second);

    const cached = (await redis.get(`${keys.oauthToken(sub.id)}:rt`))!;
    expect(cached).not.toContain(server.refreshToken);
    expect(cached).toContain('enc:v2:');
  });

  it('keeps the refresh token when the answer carries none', async () => {
    const server = await tokenServer({ rotateRefreshTokens: false });
    const sub = makeSub(server, { grantType: 'refresh_token', refreshToken: server.refreshToken });
    const tokens = provider();

    await tokens.getToken(sub);
    await tokens.invalidate(sub.id);
    await tokens.getToken(sub);

    expect(server.count).toBe(2);
    expect(saveRefreshToken).not.toHaveBeenCalled();
  });
});

describe('invalidate and storage', () => {
  it('invalidate drops the token from memory and Redis, so the next call fetches', async () => {
    const server = await tokenServer();
    const tokens = provider();
    const sub = makeSub(server);
    const first = await tokens.getToken(sub);

    await tokens.invalidate(sub.id);

    expect(await redis.exists(keys.oauthToken(sub.id))).toBe(0);
    const second = await tokens.getToken(sub);
    expect(second).not.toBe(first);
    expect(server.count).toBe(2);
  });

  it('stores the access token encrypted', async () => {
    const server = await tokenServer();
    const sub = makeSub(server);
    const token = await provider().getToken(sub);

    const raw = (await redis.get(keys.oauthToken(sub.id)))!;
    expect(raw).not.toContain(token);
    const stored = JSON.parse(raw) as { v: number; sealed: string };
    expect(stored.v).toBe(1);
    const context = secretContext('oauth2', sub.tenantId, sub.id, 'accessToken');
    expect(box.decrypt(stored.sealed, context)).toBe(token);
    // Bound to its subscription: the same ciphertext does not decrypt as another's.
    expect(() =>
      box.decrypt(stored.sealed, secretContext('oauth2', sub.tenantId, 'sub_other', 'accessToken')),
    ).toThrow();
  });
});
