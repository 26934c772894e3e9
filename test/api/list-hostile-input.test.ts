// Hostile query input on the history lists and reads, with the PostgreSQL history and with
// Redis's: NUL characters, out-of-range times and cursors, non-finite limits. Each is a 400
// validation_error naming the field, never a 500 (each of these was a 500 or went past the
// bounds before: a NUL reached PostgreSQL, a year past 9999 reached Date and timestamptz,
// `limit=Infinity` passed the 1-250 bounds).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { dropSchema, PG_URL, randomSchema } from '../helpers/pg.js';

const cursor = (s: string) => Buffer.from(s).toString('base64url');
const CASES: [url: string, path: string][] = [
  ['/v1/events?messageId=a%00b', '/querystring/messageId'],
  ['/v1/deliveries?messageId=%00', '/querystring/messageId'],
  ['/v1/deliveries?eventId=%00', '/querystring/eventId'],
  ['/v1/deliveries/a%00b', '/params/id'],
  ['/v1/events/a%00b', '/params/id'],
  [`/v1/deliveries?messageId=m&cursor=${cursor('1|x\0y')}`, '/querystring/cursor'],
  [`/v1/deliveries?messageId=m&cursor=${cursor('999999999999999|x')}`, '/querystring/cursor'],
  [`/v1/events?messageId=m&cursor=${cursor('999999999999999|x')}`, '/querystring/cursor'],
  ['/v1/deliveries?messageId=m&since=99999999999999999999', '/querystring/since'],
  ['/v1/deliveries?messageId=m&since=8640000000000001', '/querystring/since'],
  ['/v1/deliveries?messageId=m&until=%2B275760-09-13T00:00:00Z', '/querystring/until'],
  ['/v1/deliveries?messageId=m&since=-000001-01-01T00:00:00Z', '/querystring/since'],
  ['/v1/deliveries?messageId=m&limit=Infinity', '/querystring/limit'],
  ['/v1/deliveries?messageId=m&limit=-Infinity', '/querystring/limit'],
];

for (const store of ['PostgreSQL', 'Redis'] as const) {
  describe(`hostile list input, ${store} history`, () => {
    let h: Harness;
    const schema = randomSchema();
    beforeAll(async () => {
      h = await startHarness(store === 'PostgreSQL' ? { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema } : {});
    });
    afterAll(async () => {
      await h?.close();
      if (store === 'PostgreSQL') await dropSchema(schema);
    });

    it.each(CASES)('%s is a 400 at %s', async (url, path) => {
      const sep = url.includes('?') ? '&' : '?';
      const res = await h.request<{ code: string; errors?: { path: string }[] }>({
        method: 'GET',
        url: `${url}${sep}tenantId=acme`,
      });
      expect(res.status, res.raw).toBe(400);
      expect(res.body.code).toBe('validation_error');
      expect(res.body.errors?.map((e) => e.path)).toContain(path);
    });

    it('still answers the same filters in range', async () => {
      const res = await h.request<{ data: unknown[] }>({
        method: 'GET',
        url: '/v1/deliveries?tenantId=acme&messageId=m&since=2026-01-01T00:00:00Z&limit=250',
      });
      expect(res.status, res.raw).toBe(200);
      expect(res.body.data).toEqual([]);
    });
  });
}
