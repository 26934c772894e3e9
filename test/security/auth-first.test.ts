// SPEC §9: every /v1 route answers 401 (no or bad token) and 403 (missing scope) before it
// parses or validates anything, so an anonymous caller learns nothing of the schemas and costs
// no parsing. The routes are read from the app's own OpenAPI document, so a new route is
// covered without touching this file; a route that authenticates too late stops the app.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { SCOPES } from '../../src/api/plugins/auth.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { expectProblem, uniqueTenant } from './support.js';

let h: Harness;
const tenant = uniqueTenant('authfirst');
/** A token holding every scope but the key (`admin`: every scope, still not the admin). */
const lacking = new Map<string, string>();

interface Operation {
  method: string;
  path: string;
  requires?: string;
}

/** Every /v1 operation but the token endpoint, which takes its credentials in its body. */
const authenticated = () => operations().filter((o) => !(o.method === 'POST' && o.path === '/v1/auth/token'));

function operations(): Operation[] {
  const doc = h.hookline.app!.swagger() as {
    paths: Record<string, Record<string, { security?: { bearerAuth?: string[] }[] }>>;
  };
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        requires: op.security?.[0]?.bearerAuth?.[0],
      })),
    );
}

async function tokenFor(scopes: string[]): Promise<string> {
  const created = await h.request<{ clientId: string; clientSecret: string }>({
    method: 'POST',
    url: '/v1/clients',
    body: { tenantId: tenant, name: 'under-scoped', scopes },
  });
  expect(created.status, created.raw).toBe(201);
  const token = await h.request<{ access_token: string }>({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { authorization: '' },
    body: { client_id: created.body.clientId, client_secret: created.body.clientSecret },
  });
  expect(token.status, token.raw).toBe(200);
  return token.body.access_token;
}

beforeAll(async () => {
  // Many bad tokens below come from one address; this file is not about that limit.
  h = await startHarness({ AUTH_FAILURES_PER_MINUTE: '100000' }, { workers: false });
  for (const scope of SCOPES) lacking.set(scope, await tokenFor(SCOPES.filter((s) => s !== scope)));
  lacking.set('admin', await tokenFor([...SCOPES]));
});
afterAll(async () => {
  await h?.close();
});

/** Bodies that would each get a 400 from validation or parsing, were they looked at. */
const BAD_BODIES: { label: string; payload?: string; contentType?: string }[] = [
  { label: 'no body' },
  { label: 'a schema-invalid body', payload: '{"bogus":[1],"type":42,"webhookUrl":7}' },
  { label: 'malformed JSON', payload: '{"type": ' },
  { label: 'an unsupported content type', payload: '<x/>', contentType: 'application/xml' },
];

function send(op: Operation, authorization: string | undefined, body: (typeof BAD_BODIES)[number]) {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (body.payload !== undefined) headers['content-type'] = body.contentType ?? 'application/json';
  return h.hookline.app!.inject({
    method: op.method as 'GET',
    // Bad path and query values too: `limit` is an integer, `verify` a boolean wherever they exist.
    url: `${op.path.replace(/\{[^}]+\}/g, 'x')}?limit=-5&verify=maybe&cursor=`,
    headers,
    payload: body.payload,
  });
}

const asProblem = (res: Awaited<ReturnType<typeof send>>) => ({
  status: res.statusCode,
  body: res.body ? (JSON.parse(res.body) as unknown) : undefined,
  headers: res.headers,
  raw: res.body,
});

describe('every /v1 route authenticates before it parses or validates', () => {
  it('finds the routes in the OpenAPI document, each with the scope it needs', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThanOrEqual(20);
    for (const known of [
      'POST /v1/events',
      'POST /v1/subscriptions',
      'POST /v1/clients',
      'PATCH /v1/subscriptions/{id}',
    ])
      expect(ops.map((o) => `${o.method} ${o.path}`)).toContain(known);
    // The token endpoint takes its credentials in its body; every other route names a scope or `admin`.
    expect(ops.filter((o) => !o.requires).map((o) => `${o.method} ${o.path}`)).toEqual([
      'POST /v1/auth/token',
    ]);
    for (const o of ops.filter((op) => op.requires))
      expect([...SCOPES, 'admin'], `${o.method} ${o.path}`).toContain(o.requires);
    expect(ops.find((o) => o.method === 'POST' && o.path === '/v1/events')?.requires).toBe('events:publish');
  });

  it('no token, or a bad one, with any bad body, query or path: 401 unauthorized', async () => {
    for (const op of authenticated()) {
      for (const body of BAD_BODIES) {
        for (const authorization of [undefined, 'Bearer hlat_not-a-token', 'Basic Zm9vOmJhcg==']) {
          const res = asProblem(await send(op, authorization, body));
          const where = `${op.method} ${op.path}, ${body.label}, ${authorization ?? 'no token'}: ${res.raw}`;
          expect(res.status, where).toBe(401);
          expectProblem(res, 401, 'unauthorized');
        }
      }
    }
  });

  it('a valid token without the route’s scope, with any bad body: 403 insufficient_scope', async () => {
    for (const op of authenticated()) {
      const token = lacking.get(op.requires ?? 'unknown');
      expect(token, `${op.method} ${op.path} requires ${op.requires}`).toBeDefined();
      for (const body of BAD_BODIES) {
        const res = asProblem(await send(op, `Bearer ${token}`, body));
        expect(res.status, `${op.method} ${op.path}, ${body.label}: ${res.raw}`).toBe(403);
        expectProblem(res, 403, 'insufficient_scope');
      }
    }
  });

  it('a body over the size limit without a token is 401, not 413: it is never read', async () => {
    const res = await h.request({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: '', 'content-type': 'application/json' },
      body: JSON.stringify({ tenantId: tenant, data: { blob: 'x'.repeat(400 * 1024) } }),
    });
    expectProblem(res, 401, 'unauthorized');
  });

  it('HEAD of a GET route needs a token before its query is validated too', async () => {
    const res = await h.hookline.app!.inject({ method: 'HEAD', url: '/v1/subscriptions?limit=-5' });
    expect(res.statusCode).toBe(401);
  });

  it('with the right scope, the same bad body is validated: 400 with the field path', async () => {
    const res = await h.request({ method: 'POST', url: '/v1/events', body: { tenantId: tenant } });
    expectProblem(res, 400, 'validation_error', '/type');
  });

  it('an app with a /v1 route that authenticates after validation does not start', async () => {
    await expect(
      buildApp(h.hookline.ctx, {
        plugins: [
          async (app) => {
            app.post('/v1/late', { preHandler: app.requireScope('webhooks:read') }, async () => ({}));
          },
        ],
      }),
    ).rejects.toThrow(/POST \/v1\/late: a \/v1 route authenticates first, in onRequest/);
  });
});
