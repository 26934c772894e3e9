// Secrets never leave in full: every response of every route is searched for each secret this
// test creates (auth secrets, OAuth client secret and refresh token, signing secrets, client
// secret, access tokens), and so is every log line written at debug level meanwhile.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { oauth2Settings, startTokenServer, type TokenServer } from '../helpers/token-server.js';

const T = 'masking';
let h: Harness;
let rx: Receiver;
let oauth: TokenServer;
const logLines: string[] = [];
const responses: { route: string; raw: string }[] = [];

const AUTH_SECRETS = {
  secretValue: 'header-secret-0123456789',
  bearerToken: 'bearer-token-0123456789',
  basicPassword: 'basic-password-0123456789',
  refreshToken: 'refresh-token-0123456789',
  customHeader: 'custom-header-0123456789',
};
/** Secrets that may appear only in the one response that hands them out. */
const handedOut = new Set<string>();

beforeAll(async () => {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  h = await startHarness({ LOG_LEVEL: 'debug' }, { logger: createLogger('debug', {}, stream) });
  rx = await startReceiver();
  oauth = await startTokenServer({ clientSecret: 'oauth-client-secret-0123456789' });
});
afterAll(async () => {
  await h.close();
  await rx.close();
  await oauth.close();
});

async function call(method: string, url: string, body?: unknown, headers?: Record<string, string>) {
  const res = await h.request({ method, url, body, headers });
  responses.push({ route: `${method} ${url}`, raw: res.raw });
  return res;
}

it('masks every secret in every response and never logs one', async () => {
  const subs: { id: string }[] = [];
  const bodies = [
    { authType: 'secret', secret: { value: AUTH_SECRETS.secretValue } },
    {
      authType: 'bearer',
      bearer: { token: AUTH_SECRETS.bearerToken },
      customHeaders: { 'X-Api-Key': AUTH_SECRETS.customHeader },
    },
    { authType: 'basic', basic: { username: 'user', password: AUTH_SECRETS.basicPassword } },
    {
      authType: 'oauth2',
      oauth2: oauth2Settings(oauth, { grantType: 'refresh_token', refreshToken: oauth.refreshToken }),
    },
  ];
  const refreshToken = oauth.refreshToken;
  for (const [i, body] of bodies.entries()) {
    const res = await call('POST', `/v1/subscriptions?tenantId=${T}`, {
      webhookUrl: `${rx.url}/m/${i}`,
      events: ['*'],
      ...body,
    });
    expect(res.status, res.raw).toBe(201);
    handedOut.add(res.body.signingSecret as string);
    subs.push(res.body as { id: string });
  }

  // A client and its token, used for the reads below.
  const client = await call('POST', '/v1/clients', {
    tenantId: T,
    name: 'm',
    scopes: ['webhooks:read', 'webhooks:update'],
  });
  handedOut.add(client.body.clientSecret as string);
  const token = await call('POST', '/v1/auth/token', {
    client_id: client.body.clientId,
    client_secret: client.body.clientSecret,
  });
  const accessToken = token.body.access_token as string;
  const asClient = { authorization: `Bearer ${accessToken}` };

  for (const sub of subs) {
    const base = `/v1/subscriptions/${sub.id}`;
    await call('GET', base, undefined, asClient);
    const current = await call('GET', `${base}/secret`);
    handedOut.add(current.body.signingSecret as string);
    const full = (await call('GET', base)).body;
    const { id: _id, tenantId: _tn, status: _st, createdAt: _ca, updatedAt: _ua, ...input } = full;
    expect((await call('PUT', base, { ...input, description: 'put' })).status).toBe(200);
    expect((await call('PATCH', base, { description: 'patched' }, asClient)).status).toBe(200);
    await call('POST', `${base}/pause`);
    await call('POST', `${base}/resume`);
    await call('POST', `${base}/test`);
    const rotated = await call('POST', `${base}/rotate-secret`);
    handedOut.add(rotated.body.signingSecret as string);
  }
  await call('GET', `/v1/subscriptions?tenantId=${T}`);
  await call('GET', `/v1/subscriptions`, undefined, asClient);
  const publish = await call('POST', '/v1/events', {
    tenantId: T,
    type: 'message.delivered',
    channel: 'sms',
    messageId: 'm-1',
  });
  await rx.waitFor(4, { filter: (r) => r.headers['webhook-id'] === publish.body.id });
  await call('GET', `/v1/events/${publish.body.id}?tenantId=${T}`);
  await call('DELETE', `/v1/subscriptions/${subs[0]!.id}`);
  await call('GET', `/v1/subscriptions?tenantId=${T}&includeDeleted=true`);
  await call('POST', `/v1/subscriptions/${subs[0]!.id}/restore`);

  // The receiver did get the real credentials, so the secrets were really in play.
  const seenByReceiver = rx.requests.map((r) => JSON.stringify(r.headers)).join('\n');
  expect(seenByReceiver).toContain(AUTH_SECRETS.secretValue);
  expect(seenByReceiver).toContain(AUTH_SECRETS.bearerToken);
  expect(seenByReceiver).toContain(AUTH_SECRETS.customHeader);

  const authSecrets = [
    ...Object.values(AUTH_SECRETS),
    refreshToken,
    oauth.config.clientSecret,
    ...oauth.issued,
  ];
  for (const { route, raw } of responses) {
    for (const secret of authSecrets)
      expect(raw, `${route} leaks ${secret.slice(0, 6)}…`).not.toContain(secret);
  }
  // Signing and client secrets appear only where they are handed out.
  const handsOut =
    /^(POST \/v1\/subscriptions\?tenantId=\w+|GET \/v1\/subscriptions\/[\w-]+\/secret|POST \/v1\/subscriptions\/[\w-]+\/rotate-secret|POST \/v1\/clients)$/;
  for (const secret of handedOut) {
    for (const { route } of responses.filter((r) => r.raw.includes(secret))) expect(route).toMatch(handsOut);
  }
  // Masked forms are what clients see.
  const shown = responses.map((r) => r.raw).join('\n');
  expect(shown).toContain('"value":"head****"');
  expect(shown).toContain('"token":"bear****"');
  expect(shown).toContain('"password":"basi****"');
  expect(shown).toContain('"clientSecret":"oaut****"');
  expect(shown).toContain('"X-Api-Key":"cust****"');

  // Logs: nothing secret, at debug level, from API and workers alike.
  expect(logLines.length).toBeGreaterThan(20);
  const logs = logLines.join('');
  for (const secret of [...authSecrets, ...handedOut, accessToken]) {
    expect(logs, `log leaks ${secret.slice(0, 6)}…`).not.toContain(secret);
  }
});
