// /docs/json is the OpenAPI description generated from the route schemas; it must be a valid
// OpenAPI 3 document (checked by @seriousme/openapi-schema-validator, which knows 3.0 and 3.1).
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('/docs', () => {
  it('serves a valid OpenAPI 3 document without auth', async () => {
    const res = await h.request<Record<string, unknown>>({
      method: 'GET',
      url: '/docs/json',
      headers: { authorization: '' },
    });
    expect(res.status).toBe(200);
    const validator = new Validator();
    const result = await validator.validate(res.body);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toMatch(/^3\./);

    // The validator is not vacuous: one broken response object makes the same document invalid.
    const broken = structuredClone(res.body) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    broken.paths['/healthz']!.get!.responses['200'] = { content: 'not a map' };
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  it('resolves every $ref inside the document', async () => {
    const res = await h.request({ method: 'GET', url: '/docs/json' });
    const refs = [...new Set([...res.raw.matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!))];
    const doc = res.body as Record<string, unknown>;
    for (const ref of refs) {
      expect(ref.startsWith('#/'), ref).toBe(true);
      const target = ref
        .slice(2)
        .split('/')
        .reduce<unknown>(
          (node, key) =>
            (node as Record<string, unknown> | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')],
          doc,
        );
      expect(target, ref).toBeDefined();
    }
  });

  it('documents the public routes, with the operations ones under their own tag', async () => {
    const doc = (
      await h.request<{ paths: Record<string, Record<string, { tags?: string[] }>> }>({
        method: 'GET',
        url: '/docs/json',
      })
    ).body;
    for (const path of ['/v1/events', '/v1/subscriptions', '/healthz', '/readyz', '/metrics'])
      expect(Object.keys(doc.paths)).toContain(path);
    for (const path of ['/healthz', '/readyz', '/metrics'])
      expect(doc.paths[path]!.get!.tags).toEqual(['operations']);
  });

  it('describes every answer that shows a delivery record with the one Delivery schema, links included', async () => {
    type Responses = Record<string, { content: { 'application/json': { schema: Record<string, unknown> } } }>;
    const doc = (
      await h.request<{
        paths: Record<string, Record<string, { responses: Responses }>>;
        components: { schemas: Record<string, { properties: Record<string, unknown> }> };
      }>({ method: 'GET', url: '/docs/json' })
    ).body;
    const schema = (path: string, method: string, status: string) =>
      doc.paths[path]![method]!.responses[status]!.content['application/json'].schema;
    const ref = { $ref: '#/components/schemas/Delivery' };
    expect(schema('/v1/deliveries/{id}', 'get', '200')).toEqual(ref);
    expect(schema('/v1/deliveries/{id}/retry', 'post', '202')).toEqual(ref);
    for (const list of ['/v1/subscriptions/{id}/deliveries', '/v1/deliveries'])
      expect(schema(list, 'get', '200')).toMatchObject({ properties: { data: { items: ref } } });
    expect(Object.keys(doc.components.schemas.Delivery!.properties)).toEqual(
      expect.arrayContaining(['attempts', 'series', 'retryOf', 'redrivenTo']),
    );
  });

  it('serves the UI at /docs', async () => {
    const res = await h.hookline.app!.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });
});
