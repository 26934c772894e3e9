// Secret hygiene end to end: subscriptions with every kind of secret, an API client, and
// events with deliveryReport secrets are created and delivered (some deliveries fail, so
// errors are logged) under a trace-level logger. Then every captured log line, every raw
// Redis value under the prefix (BullMQ job hashes included) and every API answer is searched
// for every secret, in plain and in the encodings they travel in (Basic base64).
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { oauth2Settings, startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { uniqueTenant } from './support.js';

const secret = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

const tenant = uniqueTenant('secrets');
const S = {
  headerValue: secret('hdr'),
  bearerToken: secret('bearer'),
  basicPassword: secret('basicpw'),
  refreshTokenBad: secret('rtbad'),
  reportSecretOk: secret('dlrok'),
  reportSecretFail: secret('dlrfail'),
};
const BASIC_USER = 'hook-user';

const logLines: string[] = [];
const responses: { what: string; raw: string }[] = [];
let h: Harness;
let rx: Receiver;
let tsCC: TokenServer; // client_credentials, client_secret_basic
let tsRT: TokenServer; // refresh_token, client_secret_post, rotates refresh tokens
let tsBad: TokenServer; // refresh_token that answers invalid_grant, echoing the token
const signingSecrets: string[] = [];
let apiClientSecret = '';
let apiAccessToken = '';
const subs: Record<string, string> = {};
const events: string[] = [];
let reportFailures = 0;

async function api<T = Record<string, unknown>>(opts: {
  method: string;
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
}) {
  const res = await h.request<T>(opts);
  responses.push({ what: `${opts.method} ${opts.url} → ${res.status}`, raw: res.raw });
  return res;
}

async function createSub(name: string, body: Record<string, unknown>) {
  const res = await api<{ id: string; signingSecret: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenant}`,
    body: { events: ['message.*'], channels: ['sms'], ...body },
  });
  expect(res.status, res.raw).toBe(201);
  subs[name] = res.body.id;
  signingSecrets.push(res.body.signingSecret);
}

beforeAll(async () => {
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  rx = await startReceiver((r) => {
    if (r.path.startsWith('/fail')) return { status: 500, body: 'upstream exploded' };
    if (r.path.startsWith('/unauth')) return { status: 401, body: 'who are you' };
    if (r.path === '/dlr-flaky' && reportFailures++ === 0) return { status: 503, body: 'later' };
    return { status: 200, body: 'ok' };
  });
  tsCC = await startTokenServer({ clientId: 'cc-client', authMethod: 'client_secret_basic' });
  tsRT = await startTokenServer({
    clientId: 'rt-client',
    authMethod: 'client_secret_post',
    rotateRefreshTokens: true,
  });
  tsBad = await startTokenServer({ clientId: 'bad-client', mode: 'invalid_grant' }, S.refreshTokenBad);
  h = await startHarness({}, { logger: createLogger('trace', {}, stream) });

  // An API client and its access token.
  const client = await api<{ clientId: string; clientSecret: string }>({
    method: 'POST',
    url: '/v1/clients',
    body: { tenantId: tenant, name: 'publisher', scopes: ['events:publish', 'webhooks:read'] },
  });
  expect(client.status, client.raw).toBe(201);
  apiClientSecret = client.body.clientSecret;
  const token = await api<{ access_token: string }>({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { authorization: '' },
    body: { client_id: client.body.clientId, client_secret: apiClientSecret },
  });
  expect(token.status, token.raw).toBe(200);
  apiAccessToken = token.body.access_token;

  await createSub('secretHeader', {
    webhookUrl: `${rx.url}/ok-secret`,
    authType: 'secret',
    secret: { headerName: 'X-Api-Key', value: S.headerValue },
  });
  await createSub('bearer', {
    webhookUrl: `${rx.url}/fail-bearer`,
    authType: 'bearer',
    bearer: { token: S.bearerToken },
    maxRetries: 1,
  });
  await createSub('basic', {
    webhookUrl: `${rx.url}/unauth-basic`,
    authType: 'basic',
    basic: { username: BASIC_USER, password: S.basicPassword },
    maxRetries: 0,
  });
  await createSub('oauthCC', {
    webhookUrl: `${rx.url}/ok-cc`,
    authType: 'oauth2',
    oauth2: oauth2Settings(tsCC),
  });
  await createSub('oauthRT', {
    webhookUrl: `${rx.url}/fail-rt`,
    authType: 'oauth2',
    maxRetries: 1,
    oauth2: oauth2Settings(tsRT, {
      grantType: 'refresh_token',
      refreshToken: tsRT.refreshToken,
      authMethod: 'client_secret_post',
    }),
  });
  await createSub('oauthBad', {
    webhookUrl: `${rx.url}/ok-bad`,
    authType: 'oauth2',
    maxRetries: 1,
    oauth2: oauth2Settings(tsBad, { grantType: 'refresh_token', refreshToken: S.refreshTokenBad }),
  });

  // Two events published by the API client, each with its own deliveryReport secret.
  const asClient = { authorization: `Bearer ${apiAccessToken}` };
  for (const [path, webhookSecret] of [
    ['/dlr-ok', S.reportSecretOk],
    ['/dlr-flaky', S.reportSecretFail],
  ] as const) {
    const res = await api<{ id: string }>({
      method: 'POST',
      url: '/v1/events',
      headers: asClient,
      body: {
        tenantId: tenant,
        type: 'message.delivered',
        channel: 'sms',
        messageId: `m_${randomBytes(4).toString('hex')}`,
        deliveryReport: { webhookUrl: `${rx.url}${path}`, reportType: 'all', webhookSecret },
      },
    });
    expect(res.status, res.raw).toBe(202);
    events.push(res.body.id);
  }

  // Every delivery (6 subscriptions + 1 report, per event) reaches a final state.
  for (const id of events) {
    await h.until(async () => {
      const res = await api<{ deliveries: { status: string }[] }>({
        method: 'GET',
        url: `/v1/events/${id}?tenantId=${tenant}`,
      });
      const ds = res.body.deliveries ?? [];
      return ds.length === 7 && ds.every((d) => ['succeeded', 'failed'].includes(d.status));
    }, 30_000);
  }
  // The API's one-off test sends, which answer with the request as sent.
  for (const name of ['secretHeader', 'bearer', 'basic', 'oauthCC']) {
    const res = await api({ method: 'POST', url: `/v1/subscriptions/${subs[name]}/test` });
    expect(res.status, res.raw).toBe(200);
  }
  // Reads of everything a client can read.
  await api({ method: 'GET', url: `/v1/subscriptions?tenantId=${tenant}` });
  for (const id of Object.values(subs)) {
    await api({ method: 'GET', url: `/v1/subscriptions/${id}` });
    const dl = await api<{ data?: { id: string }[] }>({
      method: 'GET',
      url: `/v1/subscriptions/${id}/deliveries`,
    });
    for (const d of dl.body.data ?? []) await api({ method: 'GET', url: `/v1/deliveries/${d.id}` });
  }
  await api({ method: 'PATCH', url: `/v1/subscriptions/${subs.bearer}`, body: { description: 'touched' } });
}, 90_000);

afterAll(async () => {
  await h?.close();
  await Promise.all([rx?.close(), tsCC?.close(), tsRT?.close(), tsBad?.close()]);
});

/** Subscription and API-client secrets: encrypted or hashed at rest, never logged, never answered in full. */
function storedSecrets(): Record<string, string> {
  return {
    ...S,
    ccClientSecret: tsCC.config.clientSecret,
    rtClientSecret: tsRT.config.clientSecret,
    badClientSecret: tsBad.config.clientSecret,
    // The initial refresh token and every rotated one.
    ...Object.fromEntries(tsRT.requests.map((r, i) => [`refreshToken#${i}`, r.refreshToken ?? ''])),
    rotatedRefreshToken: tsRT.refreshToken,
    ...Object.fromEntries([...tsCC.issued, ...tsRT.issued].map((t, i) => [`oauthAccessToken#${i}`, t])),
    ...Object.fromEntries(signingSecrets.map((s, i) => [`signingSecret#${i}`, s])),
    apiClientSecret,
    apiAccessToken,
  };
}

/** A secret and the encodings it is sent in (Basic credentials, the Basic header of a token request). */
function spellings(name: string, value: string): string[] {
  const out = [value];
  if (name === 'basicPassword') out.push(b64(`${BASIC_USER}:${value}`));
  if (name === 'ccClientSecret') out.push(b64(`cc-client:${value}`));
  if (name === 'badClientSecret') out.push(b64(`bad-client:${value}`));
  if (name.startsWith('signingSecret')) out.push(value.replace(/^whsec_/, ''));
  return out;
}

function findings(haystack: { where: string; text: string }[], secrets: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(secrets)) {
    if (value.length < 8) continue;
    for (const spelled of spellings(name, value)) {
      for (const { where, text } of haystack) {
        if (text.includes(spelled)) found.push(`${name} in ${where}`);
      }
    }
  }
  return found;
}

/** Every value under the prefix, by type: strings, hashes (BullMQ jobs), lists, sets, zsets, streams. */
async function dumpRedis(): Promise<{ where: string; text: string }[]> {
  const r = new Redis(h.config.REDIS_URL);
  const out: { where: string; text: string }[] = [];
  try {
    const prefix = h.config.REDIS_PREFIX.replace(/[[\]*?]/g, '\\$&');
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000');
      cursor = next;
      for (const key of keys) {
        const type = await r.type(key);
        let values: string[] = [];
        if (type === 'string') values = [(await r.get(key)) ?? ''];
        else if (type === 'hash') values = Object.entries(await r.hgetall(key)).flat();
        else if (type === 'list') values = await r.lrange(key, 0, -1);
        else if (type === 'set') values = await r.smembers(key);
        else if (type === 'zset') values = await r.zrange(key, '0', '-1');
        else if (type === 'stream')
          values = (await r.xrange(key, '-', '+')).flatMap(([id, fields]) => [id, ...fields]);
        out.push({ where: `redis ${type} ${key}`, text: [key, ...values].join('\n') });
      }
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return out;
}

describe('secret hygiene', () => {
  it('the scenario really exercised every secret (deliveries failed and succeeded, tokens were fetched)', async () => {
    expect(rx.requests.find((r) => r.path === '/ok-secret')?.headers['x-api-key']).toBe(S.headerValue);
    expect(rx.requests.find((r) => r.path === '/fail-bearer')?.headers.authorization).toBe(
      `Bearer ${S.bearerToken}`,
    );
    expect(rx.requests.find((r) => r.path === '/unauth-basic')?.headers.authorization).toBe(
      `Basic ${b64(`${BASIC_USER}:${S.basicPassword}`)}`,
    );
    expect(rx.requests.find((r) => r.path === '/dlr-ok')?.headers['x-webhook-secret']).toBe(S.reportSecretOk);
    expect(rx.requests.filter((r) => r.path === '/dlr-flaky')).toHaveLength(2); // 503, then 200
    expect(tsCC.issued.length).toBeGreaterThan(0);
    expect(tsRT.requests.length).toBeGreaterThan(0);
    expect(tsBad.requests.length).toBeGreaterThan(0);
    expect(rx.requests.some((r) => r.path === '/ok-bad')).toBe(false);
    // Failures were logged (so the log search below covers error paths).
    const attempts = logLines.filter((l) => l.includes('"delivery attempt"'));
    expect(attempts.some((l) => l.includes('"errorCode":"oauth_token_error"'))).toBe(true);
    expect(attempts.some((l) => l.includes('"errorCode":"http_error"'))).toBe(true);
    expect(logLines.length).toBeGreaterThan(50);
  });

  it('no secret appears in any captured log line', () => {
    const found = findings(
      logLines.map((text, i) => ({ where: `log line ${i}: ${text.slice(0, 200)}`, text })),
      storedSecrets(),
    );
    expect(found).toEqual([]);
    // The search does see what is logged: subscription ids are in the attempt lines.
    expect(findings([{ where: 'logs', text: logLines.join('\n') }], { id: subs.bearer! })).not.toEqual([]);
  });

  it('no subscription, OAuth or API-client secret is stored in plaintext in Redis', async () => {
    const dump = await dumpRedis();
    expect(dump.length).toBeGreaterThan(10);
    expect(dump.some((d) => d.where.includes('hookline-deliveries'))).toBe(true);
    // The subscriptions are there, sealed.
    for (const id of Object.values(subs)) {
      expect(dump.find((d) => d.where.endsWith(`:sub:${id}`))?.text, id).toContain('enc:v2:');
    }
    const { reportSecretOk: _a, reportSecretFail: _b, ...secrets } = storedSecrets();
    expect(findings(dump, secrets)).toEqual([]);
  });

  // FINDING (not fixed here): an event's deliveryReport.webhookSecret travels inside the event
  // job, the delivery jobs and the stored event (`…:event:<id>`) in plaintext. Proposed fix: seal
  // it with the SecretBox when the event is accepted (publisher/enqueue) and open it only in
  // reportTarget() at delivery time. This test flips to failing once that lands: drop `.fails`.
  it('deliveryReport webhookSecrets are not stored in plaintext in Redis', async () => {
    const dump = await dumpRedis();
    expect(
      findings(dump, { reportSecretOk: S.reportSecretOk, reportSecretFail: S.reportSecretFail }),
    ).toEqual([]);
  });

  it('API answers never carry a subscription secret in full, only 4 characters then ****', async () => {
    const { reportSecretOk, reportSecretFail, headerValue, bearerToken, basicPassword } = S;
    const secrets = {
      headerValue,
      bearerToken,
      basicPassword,
      refreshTokenBad: S.refreshTokenBad,
      ccClientSecret: tsCC.config.clientSecret,
      rtClientSecret: tsRT.config.clientSecret,
      badClientSecret: tsBad.config.clientSecret,
      rotatedRefreshToken: tsRT.refreshToken,
      reportSecretOk,
      reportSecretFail,
      ...Object.fromEntries([...tsCC.issued, ...tsRT.issued].map((t, i) => [`oauthAccessToken#${i}`, t])),
    };
    const found = findings(
      responses.map((r) => ({ where: r.what, text: r.raw })),
      secrets,
    );
    expect(found).toEqual([]);

    const get = async (name: string) =>
      (
        await api<Record<string, Record<string, string>>>({
          method: 'GET',
          url: `/v1/subscriptions/${subs[name]}`,
        })
      ).body;
    const masked = (s: string) => `${s.slice(0, 4)}****`;
    expect((await get('secretHeader')).secret).toEqual({
      headerName: 'X-Api-Key',
      value: masked(S.headerValue),
    });
    expect((await get('bearer')).bearer).toEqual({ token: masked(S.bearerToken) });
    expect((await get('basic')).basic).toEqual({ username: BASIC_USER, password: masked(S.basicPassword) });
    expect((await get('oauthCC')).oauth2).toMatchObject({ clientSecret: masked(tsCC.config.clientSecret) });
    const rt = (await get('oauthRT')).oauth2!;
    expect(rt.clientSecret).toBe(masked(tsRT.config.clientSecret));
    expect(rt.refreshToken).toMatch(/^.{4}\*\*\*\*$/);
    const ev = await api<{ event: { deliveryReport: { webhookSecret: string } } }>({
      method: 'GET',
      url: `/v1/events/${events[0]}?tenantId=${tenant}`,
    });
    expect(ev.body.event.deliveryReport.webhookSecret).toBe(masked(S.reportSecretOk));
  });

  it('a PATCH echoing a masked secret keeps the real one, and no mask is ever sent on the wire', async () => {
    const masked = `${S.bearerToken.slice(0, 4)}****`;
    const patch = await api({
      method: 'PATCH',
      url: `/v1/subscriptions/${subs.bearer}`,
      body: { bearer: { token: masked } },
    });
    expect(patch.status, patch.raw).toBe(200);
    const sent = rx.requests.length;
    const test = await api({ method: 'POST', url: `/v1/subscriptions/${subs.bearer}/test` });
    expect(test.status, test.raw).toBe(200);
    expect(rx.requests.slice(sent).map((r) => r.headers.authorization)).toEqual([`Bearer ${S.bearerToken}`]);
    for (const r of rx.requests) {
      for (const v of Object.values(r.headers)) expect(String(v)).not.toContain('****');
    }
  });
});
