// What a subscription may save (security issue items 1, 5, 8; correctness item 2): every header
// Hookline will send is checked at create, PUT and PATCH (400 validation_error naming the field),
// XML parameter names must be XML names, and webhook URLs carry no #fragment.
import { describe, expect, it } from 'vitest';
import { withHarnessAndReceiver, type Harness } from '../helpers/harness.js';
import type { Receiver } from '../helpers/receiver.js';
import { expectProblem } from '../security/support.js';

type Sub = Record<string, unknown> & { id: string };

let h: Harness;
let rx: Receiver;
let n = 0;
const T = 'headers';

withHarnessAndReceiver((started) => ({ h, rx } = started));

// Never called unless a test sends: every URL is unique, on the receiver.
const url = () => `${rx.url}/h/${++n}`;

const create = (body: Record<string, unknown>) =>
  h.request<Sub>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${T}`,
    body: { webhookUrl: url(), events: ['*'], ...body },
  });

async function created(body: Record<string, unknown> = {}): Promise<Sub> {
  const res = await create(body);
  expect(res.status, res.raw).toBe(201);
  return res.body;
}

const put = (id: string, body: Record<string, unknown>) =>
  h.request<Sub>({ method: 'PUT', url: `/v1/subscriptions/${id}`, body });
const patch = (id: string, body: Record<string, unknown>) =>
  h.request<Sub>({ method: 'PATCH', url: `/v1/subscriptions/${id}`, body });

/** The same body refused at create, PUT and PATCH (over a valid subscription), each naming `path`. */
async function refusedEverywhere(body: Record<string, unknown>, path: string) {
  expectProblem(await create(body), 400, 'validation_error', path);
  const sub = await created();
  expectProblem(
    await put(sub.id, { webhookUrl: sub.webhookUrl, events: ['*'], ...body }),
    400,
    'validation_error',
    path,
  );
  expectProblem(await patch(sub.id, body), 400, 'validation_error', path);
  // Nothing of it was saved.
  const stored = await h.hookline.ctx.subscriptionStore.get(sub.id);
  expect(stored?.updatedAt).toBe(sub.updatedAt);
}

describe('customHeaders', () => {
  it.each([
    'webhook-id',
    'Webhook-Id',
    'webhook-signature',
    'HOST',
    'content-Type',
    'Content-Length',
    'Transfer-Encoding',
    'Connection',
    'User-Agent',
    'proxy-authorization',
    'Authorization',
  ])('refuses the reserved name %s at create, PUT and PATCH', async (name) => {
    await refusedEverywhere({ customHeaders: { 'X-Fine': 'ok', [name]: 'x' } }, `/customHeaders/${name}`);
  });

  it.each(['X A', 'X:A', '', 'X\r\nA', 'Ünicode', 'X/A'])('refuses the non-token name %j', async (name) => {
    const path = `/customHeaders/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    await refusedEverywhere({ customHeaders: { [name]: 'x' } }, path);
  });

  it.each([
    ['CR LF', 'a\r\nInjected: yes'],
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['NUL', 'a\u0000b'],
    ['DEL', 'a\u007fb'],
    ['non-ASCII', 'café'],
  ])('refuses a value with %s', async (_label, value) => {
    await refusedEverywhere({ customHeaders: { 'X-Key': value } }, '/customHeaders/X-Key');
  });

  it('refuses the subscription’s own auth header and a name repeated in another case', async () => {
    const secret = { authType: 'secret', secret: { headerName: 'X-Api-Key', value: 'header-secret-1' } };
    await refusedEverywhere({ ...secret, customHeaders: { 'x-api-key': 'x' } }, '/customHeaders/x-api-key');
    await refusedEverywhere(
      {
        authType: 'secret',
        secret: { value: 'header-secret-1' },
        customHeaders: { 'X-WEBHOOK-SECRET': 'x' },
      },
      '/customHeaders/X-WEBHOOK-SECRET',
    );
    await refusedEverywhere(
      { customHeaders: { 'X-Tenant': 'a', 'x-tenant': 'b' } },
      '/customHeaders/x-tenant',
    );
  });

  it('checks what a PATCH result holds; accepts punctuation in names, tabs and spaces in values, empty values', async () => {
    const customHeaders = { "X-A!#$%&'*+.^_`|~1": 'v1', 'X-Tabs': 'a\tb c', 'X-Empty': '' };
    const sub = await created({ customHeaders });
    // A PATCH is checked on what the merged result holds: a bad addition is refused, nothing saved.
    expectProblem(
      await patch(sub.id, { customHeaders: { 'X-Bad': 'a\nb' } }),
      400,
      'validation_error',
      '/customHeaders/X-Bad',
    );
    const stored = await h.hookline.ctx.subscriptionStore.get(sub.id);
    expect(stored?.customHeaders).toEqual(customHeaders);
    // PATCH adding one header keeps the others (merge) and validates only what the result holds.
    expect((await patch(sub.id, { customHeaders: { 'X-More': 'm', 'X-Empty': null } })).status).toBe(200);
    expect((await h.hookline.ctx.subscriptionStore.get(sub.id))?.customHeaders).toEqual({
      "X-A!#$%&'*+.^_`|~1": 'v1',
      'X-Tabs': 'a\tb c',
      'X-More': 'm',
    });
  });
});

describe('auth headers', () => {
  it.each(['host', 'Content-Type', 'webhook-signature', 'User-Agent', 'Transfer-Encoding', 'Keep-Alive'])(
    'refuses secret.headerName %s',
    async (headerName) => {
      await refusedEverywhere(
        { authType: 'secret', secret: { headerName, value: 'header-secret-1' } },
        '/secret/headerName',
      );
    },
  );

  it('refuses CR, LF and NUL in the secret value, the bearer token and the basic credentials', async () => {
    await refusedEverywhere({ authType: 'secret', secret: { value: 'abc\r\nX-Evil: 1' } }, '/secret/value');
    await refusedEverywhere({ authType: 'bearer', bearer: { token: 'tok\nen' } }, '/bearer/token');
    await refusedEverywhere({ authType: 'bearer', bearer: { token: 'tok\u0000en' } }, '/bearer/token');
    await refusedEverywhere(
      { authType: 'basic', basic: { username: 'us\r\ner', password: 'basic-password-1' } },
      '/basic/username',
    );
    await refusedEverywhere(
      { authType: 'basic', basic: { username: 'user', password: 'pass\nword' } },
      '/basic/password',
    );
    // RFC 7617: the first ":" ends the user-id, so one inside it would change both parts.
    await refusedEverywhere(
      { authType: 'basic', basic: { username: 'us:er', password: 'basic-password-1' } },
      '/basic/username',
    );
    // Other Unicode is fine (sent as UTF-8, base64 encoded), and so is a ":" in the password.
    await created({ authType: 'basic', basic: { username: 'jürgen', password: 'pä:ss wörd' } });
  });

  it('allows Authorization as the secret header (a custom scheme), not Proxy-Authorization', async () => {
    expectProblem(
      await create({ authType: 'secret', secret: { headerName: 'Proxy-Authorization', value: 'ApiKey x' } }),
      400,
      'validation_error',
      '/secret/headerName',
    );
    const sub = await created({
      authType: 'secret',
      secret: { headerName: 'Authorization', value: 'ApiKey custom-scheme-secret' },
    });
    const test = await h.request<{ ok: boolean }>({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}/test`,
    });
    expect(test.body.ok, test.raw).toBe(true);
    const [got] = await rx.waitFor(1, {
      filter: (r) => r.url === new URL(sub.webhookUrl as string).pathname,
    });
    expect(got!.headers.authorization).toBe('ApiKey custom-scheme-secret');
  });
});

describe('customParams and fieldNames with encoding xml', () => {
  const params = { format: 'params', encoding: 'xml' };

  it.each(['1abc', 'a b', 'a:b', '-x', '.x', '', 'a<b'])('refuses the customParams key %j', async (key) => {
    await refusedEverywhere({ ...params, customParams: { ok_key: '1', [key]: 'v' } }, `/customParams/${key}`);
  });

  it('refuses a fieldNames value that is not an XML name', async () => {
    await refusedEverywhere({ ...params, fieldNames: { messageId: '1id' } }, '/fieldNames/messageId');
  });

  it('accepts the same keys for json and form, and XML names (xml-prefixed ones too) for xml', async () => {
    const customParams = { '1abc': 'v', 'a b': 'v', 'a:b': 'v' };
    await created({ format: 'params', encoding: 'json', customParams });
    await created({ format: 'params', encoding: 'form', customParams });
    await created({ format: 'params', method: 'GET', customParams });
    await created({ ...params, customParams: { xmlFoo: '1', _a: '2', 'é.b-c': '3' } });
    // Switching an existing subscription to xml is checked against the keys it holds.
    const sub = await created({ format: 'params', encoding: 'json', customParams });
    expectProblem(await patch(sub.id, { encoding: 'xml' }), 400, 'validation_error', '/customParams/1abc');
  });
});

describe('URL fragments', () => {
  it('refuses a #fragment in webhookUrl (GET queries would land inside it) and in tokenUrl', async () => {
    await refusedEverywhere({ webhookUrl: `${rx.url}/frag#part`, method: 'GET' }, '/webhookUrl');
    await refusedEverywhere({ webhookUrl: `${rx.url}/frag#` }, '/webhookUrl');
    await refusedEverywhere(
      {
        authType: 'oauth2',
        oauth2: {
          grantType: 'client_credentials',
          tokenUrl: `${rx.url}/token#x`,
          clientId: 'c',
          clientSecret: 'client-secret-1',
        },
      },
      '/oauth2/tokenUrl',
    );
  });
});
