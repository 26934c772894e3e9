// Subscription CRUD over the real API on real Redis: every SPEC §3 rule as a 400/409 naming
// the field, list pagination and filters, PUT full replace, PATCH merge, soft delete, restore.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

type Sub = Record<string, unknown> & { id: string };
type Problem = { status: number; code: string; errors?: { path: string; message: string }[] };

let h: Harness;
let n = 0;
// Never called: every URL of this file is unique and points at a closed loopback port.
const url = () => `http://127.0.0.1:9/hook/${++n}`;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

function create(body: Record<string, unknown>, tenant = 'acme') {
  return h.request<Sub & Problem>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenant}`,
    body: { webhookUrl: url(), events: ['*'], ...body },
  });
}

async function created(body: Record<string, unknown> = {}, tenant = 'acme'): Promise<Sub> {
  const res = await create(body, tenant);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

function expectProblem(res: { status: number; body: unknown }, status: number, code: string, path?: string) {
  const body = res.body as Problem;
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(body.code).toBe(code);
  if (path) expect(body.errors?.map((e) => e.path)).toContain(path);
}

const patch = (id: string, body: unknown) =>
  h.request<Sub & Problem>({ method: 'PATCH', url: `/v1/subscriptions/${id}`, body });
const put = (id: string, body: unknown) =>
  h.request<Sub & Problem>({ method: 'PUT', url: `/v1/subscriptions/${id}`, body });
const get = (id: string) => h.request<Sub & Problem>({ method: 'GET', url: `/v1/subscriptions/${id}` });

describe('create', () => {
  it('answers 201 with defaults applied, secrets masked and the signing secret once', async () => {
    const res = await create({ authType: 'secret', secret: { value: 'super-secret-value-1' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      tenantId: 'acme',
      status: 'active',
      format: 'native',
      method: 'POST',
      encoding: 'json',
      reportType: 'all',
      timeoutMs: 10_000,
      maxRetries: 10,
      channels: [],
      senders: [],
      secret: { headerName: 'X-Webhook-Secret', value: 'supe****' },
    });
    expect(res.body.id).toMatch(/^sub_/);
    expect(res.body.signingSecret).toMatch(/^whsec_/);
    expect(res.body).not.toHaveProperty('signingSecrets');
    expect(res.body).not.toHaveProperty('authVersion');
    const again = await get(res.body.id);
    expect(again.body).not.toHaveProperty('signingSecret');
  });

  it('refuses unknown fields, top level and nested', async () => {
    expectProblem(await create({ colour: 'blue' }), 400, 'validation_error', '/colour');
    expectProblem(
      await create({ authType: 'bearer', bearer: { token: 't0ken-t0ken', kind: 'x' } }),
      400,
      'validation_error',
      '/bearer/kind',
    );
  });

  it('requires webhookUrl and at least one event', async () => {
    const res = await h.request({
      method: 'POST',
      url: '/v1/subscriptions?tenantId=acme',
      body: { events: [] },
    });
    expectProblem(res, 400, 'validation_error', '/webhookUrl');
    expect((res.body as Problem).errors!.map((e) => e.path)).toContain('/events');
  });

  it('refuses bad enums and out-of-range numbers with their paths', async () => {
    expectProblem(await create({ events: ['message.exploded'] }), 400, 'validation_error', '/events/0');
    expectProblem(await create({ timeoutMs: 999 }), 400, 'validation_error', '/timeoutMs');
    expectProblem(await create({ maxRetries: 21 }), 400, 'validation_error', '/maxRetries');
    expectProblem(await create({ format: 'soap' }), 400, 'validation_error', '/format');
  });

  it('refuses customParams and customHeaders names outside 1-128 characters, naming the key', async () => {
    const long = 'k'.repeat(129);
    const res = await create({ customParams: { [long]: 'v' } });
    expectProblem(res, 400, 'validation_error', `/customParams/${long}`);
    expect(res.body.errors).toEqual([
      { path: `/customParams/${long}`, message: 'name must NOT have more than 128 characters' },
    ]);
    expectProblem(await create({ customHeaders: { '': 'v' } }), 400, 'validation_error', '/customHeaders/');
    const sub = await created({ customParams: { ['k'.repeat(128)]: 'v' } });
    expectProblem(
      await patch(sub.id, { customParams: { [long]: 'v' } }),
      400,
      'validation_error',
      `/customParams/${long}`,
    );
  });

  it('requires message.reply to be covered for conversational', async () => {
    expectProblem(
      await create({ subProduct: 'conversational', events: ['message.delivered'] }),
      400,
      'validation_error',
      '/events',
    );
    await created({ subProduct: 'conversational', events: ['message.*'] });
  });

  it('requires the auth object of authType, and only that one', async () => {
    expectProblem(await create({ authType: 'bearer' }), 400, 'validation_error', '/bearer');
    expectProblem(await create({ bearer: { token: 'abcdefghijkl' } }), 400, 'validation_error', '/bearer');
  });

  it('requires refreshToken for the refresh_token grant', async () => {
    const oauth2 = {
      grantType: 'refresh_token',
      tokenUrl: 'http://127.0.0.1:9/token',
      clientId: 'c',
      clientSecret: 'client-secret-1',
    };
    expectProblem(
      await create({ authType: 'oauth2', oauth2 }),
      400,
      'validation_error',
      '/oauth2/refreshToken',
    );
    await created({ authType: 'oauth2', oauth2: { ...oauth2, refreshToken: 'refresh-token-1' } });
  });

  it('refuses a blocked address (ssrf_blocked) and a URL with credentials', async () => {
    expectProblem(
      await create({ webhookUrl: 'http://169.254.169.254/latest' }),
      400,
      'ssrf_blocked',
      '/webhookUrl',
    );
    expectProblem(await create({ webhookUrl: 'http://10.1.2.3/x' }), 400, 'ssrf_blocked', '/webhookUrl');
    expectProblem(
      await create({ webhookUrl: 'http://user:pw@127.0.0.1:9/x' }),
      400,
      'validation_error',
      '/webhookUrl',
    );
    expectProblem(await create({ webhookUrl: 'not a url' }), 400, 'validation_error', '/webhookUrl');
  });

  it('refuses http URLs unless ALLOW_HTTP_WEBHOOKS=true', async () => {
    const strict = await startHarness({ ALLOW_HTTP_WEBHOOKS: 'false' });
    try {
      const res = await strict.request({
        method: 'POST',
        url: '/v1/subscriptions?tenantId=acme',
        body: { webhookUrl: 'http://127.0.0.1:9/plain', events: ['*'] },
      });
      expectProblem(res, 400, 'validation_error', '/webhookUrl');
    } finally {
      await strict.close();
    }
  });

  it('refuses the same URL twice per tenant and subProduct among live subscriptions (409)', async () => {
    const webhookUrl = url();
    await created({ webhookUrl });
    expectProblem(await create({ webhookUrl }), 409, 'conflict', '/webhookUrl');
    await created({ webhookUrl, subProduct: 'transactional' });
    await created({ webhookUrl }, 'other-tenant');
  });

  it('needs a tenant for admin callers', async () => {
    const res = await h.request({
      method: 'POST',
      url: '/v1/subscriptions',
      body: { webhookUrl: url(), events: ['*'] },
    });
    expectProblem(res, 400, 'validation_error', '/querystring/tenantId');
  });
});

describe('read', () => {
  it('GET …/:id and …/:id/secret; unknown ids are 404', async () => {
    const sub = await created({ authType: 'basic', basic: { username: 'u', password: 'basic-password-1' } });
    const res = await get(sub.id);
    expect(res.status).toBe(200);
    expect(res.body.basic).toEqual({ username: 'u', password: 'basi****' });
    const secret = await h.request({ method: 'GET', url: `/v1/subscriptions/${sub.id}/secret` });
    expect(secret.body).toEqual({ signingSecret: sub.signingSecret });
    expectProblem(await get('sub_missing'), 404, 'not_found');
    expectProblem(
      await h.request({ method: 'GET', url: '/v1/subscriptions/sub_missing/secret' }),
      404,
      'not_found',
    );
  });
});

describe('list', () => {
  const T = 'lister';
  const ids: string[] = [];
  beforeAll(async () => {
    ids.push((await created({ events: ['message.delivered'] }, T)).id);
    ids.push((await created({ events: ['message.*'], subProduct: 'conversational' }, T)).id);
    ids.push((await created({ events: ['auth.*'] }, T)).id);
    ids.push((await created({ events: ['*'], subProduct: 'transactional' }, T)).id);
    ids.push((await created({ events: ['message.reply'], subProduct: 'conversational' }, T)).id);
    await h.request({ method: 'POST', url: `/v1/subscriptions/${ids[2]}/pause` });
  });
  const list = (query: string) =>
    h.request<{ data: Sub[]; nextCursor: string | null } & Problem>({
      method: 'GET',
      url: `/v1/subscriptions?tenantId=${T}&${query}`,
    });

  it('pages with an opaque cursor in creation order, without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await list(`limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((s) => s.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
  });

  it('defaults to 50, caps at 250 and refuses bad cursors and unknown parameters', async () => {
    expect((await list('')).body.data.length).toBe(5);
    expectProblem(await list('limit=251'), 400, 'validation_error', '/querystring/limit');
    expectProblem(await list('limit=0'), 400, 'validation_error', '/querystring/limit');
    expectProblem(await list('cursor=bm9wZQ'), 400, 'validation_error', '/querystring/cursor');
    expectProblem(await list('channel=sms'), 400, 'validation_error', '/querystring/channel');
  });

  it('filters by event (types received, or the exact pattern), status and subProduct', async () => {
    const pick = async (q: string) => (await list(q)).body.data.map((s) => s.id);
    expect(await pick('event=message.reply')).toEqual([ids[1], ids[3], ids[4]]);
    expect(await pick('event=message.delivered')).toEqual([ids[0], ids[1], ids[3]]);
    expect(await pick('event=message.*')).toEqual([ids[1]]);
    expect(await pick('status=paused')).toEqual([ids[2]]);
    expect(await pick('subProduct=conversational')).toEqual([ids[1], ids[4]]);
    expect(await pick('subProduct=conversational&event=message.delivered')).toEqual([ids[1]]);
  });

  it('lists every tenant for an admin without tenantId', async () => {
    const other = await created({}, 'someone-else');
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { data: Sub[]; nextCursor: string | null } } = await h.request({
        method: 'GET',
        url: `/v1/subscriptions?limit=250${cursor ? `&cursor=${cursor}` : ''}`,
      });
      all.push(...res.body.data.map((s) => s.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(all).toEqual(expect.arrayContaining([...ids, other.id]));
    expect((await list('')).body.data.map((s) => s.id)).not.toContain(other.id);
  });

  it('shows soft-deleted ones with deletedAt to admins asking includeDeleted=true', async () => {
    const gone = await created({}, T);
    await h.request({ method: 'DELETE', url: `/v1/subscriptions/${gone.id}` });
    expect((await list('')).body.data.map((s) => s.id)).not.toContain(gone.id);
    const withDeleted = (await list('includeDeleted=true')).body.data;
    const found = withDeleted.find((s) => s.id === gone.id);
    expect(found?.deletedAt).toEqual(expect.any(String));
    expect(withDeleted.filter((s) => s.deletedAt)).toHaveLength(1);
  });
});

describe('PUT (full replace)', () => {
  it('replaces every writable field; omitted optional ones are removed', async () => {
    const sub = await created({ description: 'old', channels: ['sms'], maxRetries: 3 });
    const webhookUrl = url();
    const res = await put(sub.id, { webhookUrl, events: ['message.read'] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ webhookUrl, events: ['message.read'], channels: [], maxRetries: 10 });
    expect(res.body).not.toHaveProperty('description');
    expect(res.body.createdAt).toBe(sub.createdAt);
  });

  it('keeps stored secrets when a masked value is sent back (GET → PUT round trip)', async () => {
    const sub = await created({
      authType: 'secret',
      secret: { headerName: 'X-Key', value: 'round-trip-secret' },
    });
    const {
      id: _id,
      tenantId: _t,
      status: _s,
      createdAt: _c,
      updatedAt: _u,
      ...writable
    } = (await get(sub.id)).body;
    const res = await put(sub.id, { ...writable, description: 'round trip' });
    expect(res.status).toBe(200);
    const stored = await h.hookline.ctx.subscriptionStore.get(sub.id);
    expect(stored?.secret).toEqual({ headerName: 'X-Key', value: 'round-trip-secret' });
    expect(stored?.authVersion).toBe(1);
  });

  it('cannot change subProduct, not even by leaving it out', async () => {
    const sub = await created({ subProduct: 'transactional' });
    expectProblem(
      await put(sub.id, { webhookUrl: url(), events: ['*'], subProduct: 'conversational' }),
      400,
      'validation_error',
      '/subProduct',
    );
    expectProblem(
      await put(sub.id, { webhookUrl: url(), events: ['*'] }),
      400,
      'validation_error',
      '/subProduct',
    );
    expect(
      (await put(sub.id, { webhookUrl: url(), events: ['*'], subProduct: 'transactional' })).status,
    ).toBe(200);
  });

  it('moves the URL claim: a taken URL is 409, the old URL is free again', async () => {
    const a = await created();
    const b = await created();
    expectProblem(
      await put(b.id, { webhookUrl: a.webhookUrl, events: ['*'] }),
      409,
      'conflict',
      '/webhookUrl',
    );
    const oldUrl = b.webhookUrl as string;
    expect((await put(b.id, { webhookUrl: url(), events: ['*'] })).status).toBe(200);
    await created({ webhookUrl: oldUrl });
  });

  it('validates like create: unknown fields, rules, 404 for unknown ids', async () => {
    const sub = await created();
    expectProblem(
      await put(sub.id, { webhookUrl: url(), events: ['*'], extra: 1 }),
      400,
      'validation_error',
      '/extra',
    );
    expectProblem(
      await put(sub.id, { webhookUrl: url(), events: ['*'], authType: 'basic' }),
      400,
      'validation_error',
      '/basic',
    );
    expectProblem(await put('sub_missing', { webhookUrl: url(), events: ['*'] }), 404, 'not_found');
  });
});

describe('PATCH (merge, then validate the result)', () => {
  it('changes only what is sent; null removes an optional field', async () => {
    const sub = await created({ description: 'keep me', channels: ['sms'] });
    const res = await patch(sub.id, { channels: ['whatsapp', 'viber'], maxRetries: 2 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      description: 'keep me',
      channels: ['whatsapp', 'viber'],
      maxRetries: 2,
      webhookUrl: sub.webhookUrl,
    });
    const removed = await patch(sub.id, { description: null });
    expect(removed.body).not.toHaveProperty('description');
    expect(removed.body.channels).toEqual(['whatsapp', 'viber']);
  });

  it('merges nested objects, so a new secret value keeps its header name', async () => {
    const sub = await created({
      authType: 'secret',
      secret: { headerName: 'X-Token', value: 'first-secret-value' },
    });
    const res = await patch(sub.id, { secret: { value: 'second-secret-value' } });
    expect(res.status).toBe(200);
    expect(res.body.secret).toEqual({ headerName: 'X-Token', value: 'seco****' });
    const stored = await h.hookline.ctx.subscriptionStore.get(sub.id);
    expect(stored?.secret?.value).toBe('second-secret-value');
  });

  it('switching authType drops the previous kind unless the patch names it', async () => {
    const sub = await created({ authType: 'bearer', bearer: { token: 'bearer-token-value' } });
    const res = await patch(sub.id, { authType: 'none' });
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('bearer');
    expectProblem(await patch(sub.id, { authType: 'basic' }), 400, 'validation_error', '/basic');
  });

  it('validates the merged result with the same rules as create', async () => {
    const conv = await created({ subProduct: 'conversational', events: ['message.reply'] });
    expectProblem(await patch(conv.id, { events: ['message.sent'] }), 400, 'validation_error', '/events');
    expectProblem(await patch(conv.id, { webhookUrl: null }), 400, 'validation_error', '/webhookUrl');
    expectProblem(await patch(conv.id, { timeoutMs: 50 }), 400, 'validation_error', '/timeoutMs');
    expectProblem(await patch(conv.id, { nickname: 'x' }), 400, 'validation_error', '/nickname');
    expectProblem(
      await patch(conv.id, { webhookUrl: 'http://169.254.169.254/' }),
      400,
      'ssrf_blocked',
      '/webhookUrl',
    );
  });

  it('cannot change subProduct (400 at /subProduct); repeating the same value is fine', async () => {
    const sub = await created({ subProduct: 'transactional' });
    expectProblem(
      await patch(sub.id, { subProduct: 'conversational' }),
      400,
      'validation_error',
      '/subProduct',
    );
    expectProblem(await patch(sub.id, { subProduct: null }), 400, 'validation_error', '/subProduct');
    expect((await patch(sub.id, { subProduct: 'transactional', description: 'same' })).status).toBe(200);
    const plain = await created();
    expectProblem(
      await patch(plain.id, { subProduct: 'transactional' }),
      400,
      'validation_error',
      '/subProduct',
    );
  });

  it('bumps authVersion and drops the cached OAuth token when auth settings change', async () => {
    const ctx = h.hookline.ctx;
    const invalidate = vi.spyOn(ctx.tokens, 'invalidate');
    try {
      const sub = await created({ authType: 'bearer', bearer: { token: 'bearer-token-one' } });
      await patch(sub.id, { description: 'not auth' });
      expect(invalidate).not.toHaveBeenCalled();
      expect((await ctx.subscriptionStore.get(sub.id))?.authVersion).toBe(1);
      await patch(sub.id, { bearer: { token: 'bearer-token-two' } });
      expect(invalidate).toHaveBeenCalledWith(sub.id);
      expect((await ctx.subscriptionStore.get(sub.id))?.authVersion).toBe(2);
    } finally {
      invalidate.mockRestore();
    }
  });
});

describe('DELETE and restore', () => {
  it('soft-deletes (204, then 404) and restores (200, visible again)', async () => {
    const sub = await created();
    const del = await h.request({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` });
    expect(del.status).toBe(204);
    expect(del.raw).toBe('');
    expectProblem(await get(sub.id), 404, 'not_found');
    expectProblem(await patch(sub.id, { description: 'x' }), 404, 'not_found');
    expectProblem(
      await h.request({ method: 'DELETE', url: `/v1/subscriptions/${sub.id}` }),
      404,
      'not_found',
    );
    const stored = await h.hookline.ctx.subscriptionStore.get(sub.id);
    expect(stored?.deletedAt).toEqual(expect.any(String));
    const restored = await h.request<Sub>({ method: 'POST', url: `/v1/subscriptions/${sub.id}/restore` });
    expect(restored.status).toBe(200);
    expect(restored.body).not.toHaveProperty('deletedAt');
    expect((await get(sub.id)).status).toBe(200);
    // Restoring a live subscription changes nothing.
    expect((await h.request({ method: 'POST', url: `/v1/subscriptions/${sub.id}/restore` })).status).toBe(
      200,
    );
    expectProblem(
      await h.request({ method: 'POST', url: '/v1/subscriptions/sub_missing/restore' }),
      404,
      'not_found',
    );
  });
});

describe('OpenAPI', () => {
  it('documents params, body and a response per status for every subscription and client route', async () => {
    const doc = (
      await h.request<{ paths: Record<string, Record<string, Record<string, unknown>>> }>({
        method: 'GET',
        url: '/docs/json',
      })
    ).body;
    const routes: [string, string, number[]][] = [
      ['/v1/subscriptions', 'post', [201, 400, 401, 403, 409, 422]],
      ['/v1/subscriptions', 'get', [200, 400, 401, 403]],
      ['/v1/subscriptions/{id}', 'get', [200, 401, 403, 404]],
      ['/v1/subscriptions/{id}', 'put', [200, 400, 404, 409]],
      ['/v1/subscriptions/{id}', 'patch', [200, 400, 404, 409]],
      ['/v1/subscriptions/{id}', 'delete', [204, 404]],
      ['/v1/subscriptions/{id}/secret', 'get', [200, 404]],
      ['/v1/subscriptions/{id}/restore', 'post', [200, 404, 409]],
      ['/v1/subscriptions/{id}/pause', 'post', [200, 404]],
      ['/v1/subscriptions/{id}/resume', 'post', [200, 404]],
      ['/v1/subscriptions/{id}/test', 'post', [200, 400, 404]],
      ['/v1/subscriptions/{id}/rotate-secret', 'post', [200, 400, 404]],
      ['/v1/clients', 'post', [201, 400, 401, 403]],
      ['/v1/auth/token', 'post', [200, 400, 401]],
    ];
    for (const [path, method, statuses] of routes) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      const responses = op!.responses as Record<string, unknown>;
      for (const s of statuses) expect(responses[String(s)], `${method} ${path} ${s}`).toBeDefined();
      if (path.includes('{id}')) expect(JSON.stringify(op!.parameters)).toContain('"name":"id"');
      if (['put', 'patch'].includes(method) || (path === '/v1/subscriptions' && method === 'post'))
        expect(op!.requestBody).toBeDefined();
    }
  });
});
