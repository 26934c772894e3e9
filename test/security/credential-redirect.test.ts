// Update-only callers cannot redirect stored credentials (security issue, item 4): a PUT or
// PATCH that changes webhookUrl (or oauth2.tokenUrl) must carry the credentials that would go
// there, else 400 naming each one, and the new address receives nothing, not even from the
// test route. Admins are held to the same rule: it is about the request, not the caller.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { oauth2Settings, startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { expectProblem, uniqueTenant } from './support.js';

const tenant = uniqueTenant('redirect');
let h: Harness;
let rx: Receiver; // the subscriber
let evil: Receiver; // where an update-only caller would like the credentials to go
let oauth: TokenServer;
let rogue: TokenServer;
let asClient: Record<string, string>;
let n = 0;

beforeAll(async () => {
  h = await startHarness();
  rx = await startReceiver();
  evil = await startReceiver();
  oauth = await startTokenServer();
  rogue = await startTokenServer();
  const client = await h.request({
    method: 'POST',
    url: '/v1/clients',
    body: { tenantId: tenant, name: 'update-only', scopes: ['webhooks:read', 'webhooks:update'] },
  });
  const token = await h.request({
    method: 'POST',
    url: '/v1/auth/token',
    body: { client_id: client.body.clientId, client_secret: client.body.clientSecret },
  });
  asClient = { authorization: `Bearer ${token.body.access_token as string}` };
});
afterAll(async () => {
  await h.close();
  await rx.close();
  await evil.close();
  await oauth.close();
  await rogue.close();
});

const AUTH: Record<
  string,
  { body: Record<string, unknown>; paths: string[]; again: () => Record<string, unknown> }
> = {
  secret: {
    body: { authType: 'secret', secret: { value: 'stored-header-secret-1' } },
    paths: ['/secret/value'],
    again: () => ({ secret: { value: 'stored-header-secret-1' } }),
  },
  bearer: {
    body: { authType: 'bearer', bearer: { token: 'stored-bearer-token-1' } },
    paths: ['/bearer/token'],
    again: () => ({ bearer: { token: 'new-bearer-token-0001' } }),
  },
  basic: {
    body: { authType: 'basic', basic: { username: 'user', password: 'stored-basic-password-1' } },
    paths: ['/basic/password'],
    again: () => ({ basic: { password: 'stored-basic-password-1' } }),
  },
  oauth2: {
    body: {
      authType: 'oauth2',
      oauth2: { grantType: 'refresh_token', refreshToken: 'set in beforeAll' },
    },
    paths: ['/oauth2/clientSecret', '/oauth2/refreshToken'],
    again: () => ({ oauth2: { clientSecret: oauth.config.clientSecret, refreshToken: oauth.refreshToken } }),
  },
};

async function create(kind: string) {
  const path = `/r/${kind}/${++n}`;
  const body = structuredClone(AUTH[kind]!.body);
  if (kind === 'oauth2')
    body.oauth2 = oauth2Settings(oauth, { grantType: 'refresh_token', refreshToken: oauth.refreshToken });
  const res = await h.request<{ id: string; webhookUrl: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenant}`,
    body: { webhookUrl: `${rx.url}${path}`, events: ['*'], ...body },
  });
  expect(res.status, res.raw).toBe(201);
  return { ...res.body, path };
}

const patch = (id: string, body: unknown, headers?: Record<string, string>) =>
  h.request({ method: 'PATCH', url: `/v1/subscriptions/${id}`, body, headers });
const sendTest = (id: string) =>
  h.request<{ ok: boolean }>({ method: 'POST', url: `/v1/subscriptions/${id}/test` });
const paths = (res: { body: unknown }) =>
  ((res.body as { errors?: { path: string }[] }).errors ?? []).map((e) => e.path).sort();

describe.each(Object.keys(AUTH))('authType %s', (kind) => {
  it('a PATCH of webhookUrl without the credentials is refused, for clients and admins alike', async () => {
    const sub = await create(kind);
    const target = `${evil.url}/steal/${kind}/${n}`;
    for (const headers of [asClient, undefined]) {
      const res = await patch(sub.id, { webhookUrl: target }, headers);
      expectProblem(res, 400, 'validation_error');
      expect(paths(res)).toEqual([...AUTH[kind]!.paths].sort());
    }
    // Nothing moved: the test route still goes to the subscriber, the new URL got nothing.
    expect((await sendTest(sub.id)).body.ok).toBe(true);
    expect(rx.requests.some((r) => r.path === sub.path)).toBe(true);
    expect(evil.requests.filter((r) => r.path.startsWith(`/steal/${kind}/`))).toHaveLength(0);
    // With the credentials in the request, the new URL is saved.
    const moved = await patch(sub.id, { webhookUrl: target, ...AUTH[kind]!.again() }, asClient);
    expect(moved.status, moved.raw).toBe(200);
    expect((await h.hookline.ctx.subscriptionStore.get(sub.id))?.webhookUrl).toBe(target);
  });

  it('a PUT sending the masked values back with a new webhookUrl is refused', async () => {
    const sub = await create(kind);
    const view = (
      await h.request<Record<string, unknown>>({ method: 'GET', url: `/v1/subscriptions/${sub.id}` })
    ).body;
    const { id: _i, tenantId: _t, status: _s, createdAt: _c, updatedAt: _u, ...writable } = view;
    const res = await h.request({
      method: 'PUT',
      url: `/v1/subscriptions/${sub.id}`,
      body: { ...writable, webhookUrl: `${evil.url}/steal-put/${kind}` },
      headers: asClient,
    });
    expectProblem(res, 400, 'validation_error');
    expect(paths(res)).toEqual([...AUTH[kind]!.paths].sort());
    // The same round trip without the new URL is fine.
    const same = await h.request({
      method: 'PUT',
      url: `/v1/subscriptions/${sub.id}`,
      body: writable,
      headers: asClient,
    });
    expect(same.status, same.raw).toBe(200);
  });
});

describe('oauth2.tokenUrl', () => {
  it('a new tokenUrl needs the client secret (and the refresh token for that grant)', async () => {
    const sub = await create('oauth2');
    const res = await patch(sub.id, { oauth2: { tokenUrl: rogue.url } }, asClient);
    expectProblem(res, 400, 'validation_error');
    expect(paths(res)).toEqual(['/oauth2/clientSecret', '/oauth2/refreshToken']);
    const echo = {
      tokenUrl: rogue.url,
      clientSecret: `${oauth.config.clientSecret.slice(0, 4)}****`,
      refreshToken: `${oauth.refreshToken.slice(0, 4)}****`,
    };
    const masked = await patch(sub.id, { oauth2: echo });
    expect(paths(masked)).toEqual(['/oauth2/clientSecret', '/oauth2/refreshToken']);
    await sendTest(sub.id);
    expect(rogue.count).toBe(0);
    expect(oauth.count).toBeGreaterThan(0);

    const cc = await h.request<{ id: string }>({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenant}`,
      body: {
        webhookUrl: `${rx.url}/r/cc`,
        events: ['*'],
        authType: 'oauth2',
        oauth2: oauth2Settings(oauth),
      },
    });
    const ccRes = await patch(cc.body.id, { oauth2: { tokenUrl: rogue.url } }, asClient);
    expect(paths(ccRes)).toEqual(['/oauth2/clientSecret']);
    const ok = await patch(cc.body.id, {
      oauth2: { tokenUrl: rogue.url, clientSecret: rogue.config.clientSecret },
    });
    expect(ok.status, ok.raw).toBe(200);
  });
});

describe('what a new webhookUrl does not need', () => {
  it('credentials the same request drops, or none at all', async () => {
    const bearer = await create('bearer');
    expectProblem(
      await patch(bearer.id, { webhookUrl: `${rx.url}/r/no-auth` }, asClient),
      400,
      'validation_error',
      '/bearer/token',
    );
    const res = await patch(bearer.id, { webhookUrl: `${rx.url}/r/no-auth`, authType: 'none' }, asClient);
    expect(res.status, res.raw).toBe(200);
    expect(res.body).not.toHaveProperty('bearer');
  });
});

describe('customHeaders values are secrets: they follow a new webhookUrl only when the request carries them', () => {
  it('refuses the move without them or with their masked echo, and saves it with them', async () => {
    const plain = await h.request<{ id: string; customHeaders: Record<string, string> }>({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenant}`,
      body: {
        webhookUrl: `${rx.url}/r/plain`,
        events: ['*'],
        customHeaders: { 'X-Api-Key': 'custom-key-000001' },
      },
    });
    expect(plain.status, plain.raw).toBe(201);
    const target = `${evil.url}/steal-header`;
    expectProblem(
      await patch(plain.body.id, { webhookUrl: target }, asClient),
      400,
      'validation_error',
      '/customHeaders/X-Api-Key',
    );
    const masked = plain.body.customHeaders['X-Api-Key']!;
    expect(masked).not.toBe('custom-key-000001');
    expectProblem(
      await patch(plain.body.id, { webhookUrl: target, customHeaders: { 'X-Api-Key': masked } }, asClient),
      400,
      'validation_error',
      '/customHeaders/X-Api-Key',
    );
    expect((await h.hookline.ctx.subscriptionStore.get(plain.body.id))?.webhookUrl).toBe(`${rx.url}/r/plain`);
    expect(evil.requests.filter((r) => r.path === '/steal-header')).toHaveLength(0);
    const moved = await patch(
      plain.body.id,
      { webhookUrl: `${rx.url}/r/plain-2`, customHeaders: { 'X-Api-Key': 'custom-key-000001' } },
      asClient,
    );
    expect(moved.status, moved.raw).toBe(200);
    expect((await h.hookline.ctx.subscriptionStore.get(plain.body.id))?.customHeaders).toEqual({
      'X-Api-Key': 'custom-key-000001',
    });
  });
});
