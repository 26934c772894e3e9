// Reads back every raw Redis value under the test prefix (SCAN, then GET / HGETALL / LRANGE /
// SMEMBERS / ZRANGE / XRANGE by type) and finds no plaintext secret: auth secrets are AES-GCM
// sealed, signing secrets too, client secrets hashed, access tokens kept under their hash.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { oauth2Settings, startTokenServer, type TokenServer } from '../helpers/token-server.js';

let h: Harness;
let rx: Receiver;
let oauth: TokenServer;
let redis: Redis;

beforeAll(async () => {
  h = await startHarness();
  rx = await startReceiver();
  oauth = await startTokenServer({ clientSecret: 'oauth-client-secret-at-rest' });
  redis = new Redis(h.config.REDIS_URL);
});
afterAll(async () => {
  redis.disconnect();
  await h.close();
  await rx.close();
  await oauth.close();
});

async function dump(prefix: string): Promise<string> {
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      parts.push(key);
      const type = await redis.type(key);
      if (type === 'string') parts.push((await redis.get(key)) ?? '');
      else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, '0', '-1', 'WITHSCORES')));
      else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      else parts.push(`<${type}>`);
    }
  } while (cursor !== '0');
  return parts.join('\n');
}

it('keeps no plaintext secret anywhere in Redis', async () => {
  const secrets: string[] = [
    'header-secret-at-rest-1',
    'bearer-token-at-rest-1',
    'basic-password-at-rest-1',
    'custom-header-at-rest-1',
  ];
  const refreshToken = oauth.refreshToken;
  const bodies = [
    { authType: 'secret', secret: { value: secrets[0] } },
    { authType: 'bearer', bearer: { token: secrets[1] }, customHeaders: { 'X-Api-Key': secrets[3] } },
    { authType: 'basic', basic: { username: 'u', password: secrets[2] } },
    {
      authType: 'oauth2',
      oauth2: oauth2Settings(oauth, { grantType: 'refresh_token', refreshToken }),
    },
  ];
  for (const [i, body] of bodies.entries()) {
    const res = await h.request({
      method: 'POST',
      url: '/v1/subscriptions?tenantId=rest',
      body: { webhookUrl: `${rx.url}/r/${i}`, events: ['*'], ...body },
    });
    expect(res.status, res.raw).toBe(201);
    secrets.push(res.body.signingSecret as string);
    const rotated = await h.request({
      method: 'POST',
      url: `/v1/subscriptions/${res.body.id as string}/rotate-secret`,
    });
    secrets.push(rotated.body.signingSecret as string);
  }
  secrets.push(refreshToken, oauth.config.clientSecret);

  const client = await h.request({
    method: 'POST',
    url: '/v1/clients',
    body: { tenantId: 'rest', name: 'r', scopes: ['webhooks:read'] },
  });
  const token = await h.request({
    method: 'POST',
    url: '/v1/auth/token',
    body: { client_id: client.body.clientId, client_secret: client.body.clientSecret },
  });
  secrets.push(client.body.clientSecret as string, token.body.access_token as string);

  // Deliver once, so the OAuth token cache, delivery records and the events queue hold data too
  // (a delivery that succeeds at once leaves no delivery job; those carry ids only anyway).
  const event = await h.request({
    method: 'POST',
    url: '/v1/events',
    body: { tenantId: 'rest', type: 'message.delivered', channel: 'sms', messageId: 'm1' },
  });
  await rx.waitFor(4, { filter: (r) => r.headers['webhook-id'] === event.body.id });
  secrets.push(...oauth.issued);
  expect(oauth.issued.length).toBeGreaterThan(0);

  const raw = await dump(h.config.REDIS_PREFIX);
  expect(raw).toContain('enc:v2:'); // the secrets are there, sealed
  for (const secret of secrets) {
    expect(raw, `plaintext ${secret.slice(0, 8)}… in Redis`).not.toContain(secret);
    // Signing secrets without their whsec_ prefix are the key material itself.
    if (secret.startsWith('whsec_')) expect(raw).not.toContain(secret.slice(6));
  }
});
