// API clients and access tokens: admin-only creation, JSON and RFC 6749 form token requests,
// scopes as a subset of the client's, 401 invalid_client, scopes enforced, tokens expire.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
let redis: Redis;

beforeAll(async () => {
  h = await startHarness();
  redis = new Redis(h.config.REDIS_URL);
});
afterAll(async () => {
  redis.disconnect();
  await h.close();
});

interface Created {
  clientId: string;
  clientSecret: string;
  tenantId: string | null;
  scopes: string[];
}

async function newClient(body: Record<string, unknown>): Promise<Created> {
  const res = await h.request<Created>({ method: 'POST', url: '/v1/clients', body });
  expect(res.status).toBe(201);
  return res.body;
}

const form = (fields: Record<string, string>) => ({
  body: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});

describe('POST /v1/clients', () => {
  it('creates a tenant client with a secret shown once', async () => {
    const c = await newClient({
      tenantId: 'acme',
      name: 'acme backend',
      scopes: ['webhooks:read', 'webhooks:create'],
    });
    expect(c.clientId).toMatch(/^cli_/);
    expect(c.clientSecret).toMatch(/^hlcs_.{40,}/);
    expect(c).toMatchObject({ tenantId: 'acme', scopes: ['webhooks:read', 'webhooks:create'] });
  });

  it('creates a platform client when tenantId is left out', async () => {
    const c = await newClient({ name: 'producer', scopes: ['events:publish'] });
    expect(c.tenantId).toBeNull();
  });

  it('stores only a hash of the client secret', async () => {
    const c = await newClient({ tenantId: 'acme', name: 'x', scopes: ['webhooks:read'] });
    const raw = await redis.get(h.hookline.ctx.keys.client(c.clientId));
    expect(raw).toBeTruthy();
    expect(raw).not.toContain(c.clientSecret);
    expect(raw).not.toContain(c.clientSecret.slice(5));
  });

  it('refuses unknown scopes, unknown fields and an empty scope list', async () => {
    for (const body of [
      { name: 'x', scopes: ['webhooks:everything'] },
      { name: 'x', scopes: ['webhooks:read'], admin: true },
      { name: 'x', scopes: [] },
    ]) {
      const res = await h.request({ method: 'POST', url: '/v1/clients', body });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_error');
    }
  });

  it('is for the admin only: no token 401, a client token 403', async () => {
    const noToken = await h.request({
      method: 'POST',
      url: '/v1/clients',
      body: { name: 'x', scopes: ['webhooks:read'] },
      headers: { authorization: '' },
    });
    expect(noToken.status).toBe(401);
    const all = await newClient({
      tenantId: 'acme',
      name: 'all',
      scopes: ['webhooks:read', 'webhooks:create'],
    });
    const token = await h.request<{ access_token: string }>({
      method: 'POST',
      url: '/v1/auth/token',
      body: { client_id: all.clientId, client_secret: all.clientSecret },
    });
    const res = await h.request({
      method: 'POST',
      url: '/v1/clients',
      body: { name: 'x', scopes: ['webhooks:read'] },
      headers: { authorization: `Bearer ${token.body.access_token}` },
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('insufficient_scope');
  });
});

describe('POST /v1/auth/token', () => {
  let client: Created;
  beforeAll(async () => {
    client = await newClient({ tenantId: 'acme', name: 'tok', scopes: ['webhooks:read', 'webhooks:update'] });
  });

  it('issues an opaque bearer token for JSON credentials, with every scope of the client', async () => {
    const res = await h.request({
      method: 'POST',
      url: '/v1/auth/token',
      body: { client_id: client.clientId, client_secret: client.clientSecret },
      headers: { authorization: '' },
    });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'webhooks:read webhooks:update',
    });
    expect(res.body.access_token).toMatch(/^hlat_/);
  });

  it('accepts the RFC 6749 form with grant_type=client_credentials and a scope subset', async () => {
    const res = await h.request({
      method: 'POST',
      url: '/v1/auth/token',
      ...form({
        grant_type: 'client_credentials',
        client_id: client.clientId,
        client_secret: client.clientSecret,
        scope: 'webhooks:read',
      }),
    });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('webhooks:read');
  });

  it('accepts HTTP Basic client authentication (client_secret_basic)', async () => {
    const basic = Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64');
    const res = await h.request({
      method: 'POST',
      url: '/v1/auth/token',
      body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
    });
    expect(res.status).toBe(200);
  });

  it('answers 401 invalid_client for a wrong secret, an unknown client or none', async () => {
    for (const body of [
      { client_id: client.clientId, client_secret: `${client.clientSecret}x` },
      { client_id: 'cli_nobody', client_secret: client.clientSecret },
      {},
    ]) {
      const res = await h.request({ method: 'POST', url: '/v1/auth/token', body });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: 'invalid_client' });
    }
  });

  it('refuses scopes the client does not hold (invalid_scope) and other grants', async () => {
    const scope = await h.request({
      method: 'POST',
      url: '/v1/auth/token',
      body: {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        scopes: ['webhooks:read', 'webhooks:delete'],
      },
    });
    expect(scope.status).toBe(400);
    expect(scope.body.error).toBe('invalid_scope');
    const grant = await h.request({
      method: 'POST',
      url: '/v1/auth/token',
      ...form({ grant_type: 'password', client_id: client.clientId, client_secret: client.clientSecret }),
    });
    expect(grant.status).toBe(400);
    expect(grant.body.error).toBe('unsupported_grant_type');
    const missing = await h.request({
      method: 'POST',
      url: '/v1/auth/token',
      ...form({ client_id: client.clientId, client_secret: client.clientSecret }),
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
  });

  it('enforces the granted scopes: missing scope 403, unknown token 401', async () => {
    const sub = await h.request<{ id: string }>({
      method: 'POST',
      url: '/v1/subscriptions?tenantId=acme',
      body: { webhookUrl: 'http://127.0.0.1:9/scoped', events: ['*'] },
    });
    const token = await h.request<{ access_token: string }>({
      method: 'POST',
      url: '/v1/auth/token',
      body: { client_id: client.clientId, client_secret: client.clientSecret, scopes: 'webhooks:read' },
    });
    const auth = { authorization: `Bearer ${token.body.access_token}` };
    const read = await h.request({ method: 'GET', url: `/v1/subscriptions/${sub.body.id}`, headers: auth });
    expect(read.status).toBe(200);
    const patch = await h.request({
      method: 'PATCH',
      url: `/v1/subscriptions/${sub.body.id}`,
      body: { description: 'x' },
      headers: auth,
    });
    expect(patch.status).toBe(403);
    expect(patch.body.code).toBe('insufficient_scope');
    const bogus = await h.request({
      method: 'GET',
      url: `/v1/subscriptions/${sub.body.id}`,
      headers: { authorization: 'Bearer hlat_nope' },
    });
    expect(bogus.status).toBe(401);
    expect(bogus.body.code).toBe('unauthorized');
  });

  it('stores tokens under their hash with a TTL; an expired token is refused', async () => {
    const token = await h.request<{ access_token: string }>({
      method: 'POST',
      url: '/v1/auth/token',
      body: { client_id: client.clientId, client_secret: client.clientSecret },
    });
    const keys = await scanKeys(`${h.config.REDIS_PREFIX}:atok:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(' ')).not.toContain(token.body.access_token);
    for (const key of keys) {
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(3500);
      expect(ttl).toBeLessThanOrEqual(3600);
    }
    const auth = { authorization: `Bearer ${token.body.access_token}` };
    expect((await h.request({ method: 'GET', url: '/v1/subscriptions', headers: auth })).status).toBe(200);
    // Expire every token now, as the TTL would.
    for (const key of keys) await redis.pexpire(key, 1);
    await h.until(async () => (await redis.exists(...keys)) === 0);
    expect((await h.request({ method: 'GET', url: '/v1/subscriptions', headers: auth })).status).toBe(401);
  });
});

async function scanKeys(pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}
