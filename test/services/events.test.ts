// acceptEvents is the one way in: the same bad input gets the same error (code and field paths)
// through POST /v1/events (and its batch) as through the exported publisher, which is given
// the server's Config instead of reading the environment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher, type Publisher } from '../../src/services/publisher.js';
import { startHarness, tenantAuth, type Harness } from '../helpers/harness.js';

let h: Harness;
let publisher: Publisher;
let own: Publisher;
const T = 'svc-events';

beforeAll(async () => {
  h = await startHarness();
  publisher = createPublisher({ config: h.config });
  own = createPublisher({ config: h.config, tenant: T });
});
afterAll(async () => {
  await publisher?.close();
  await own?.close();
  await h?.close();
});

interface Refusal {
  code?: string;
  paths: string[];
}

const ok = { tenantId: T, type: 'message.delivered', channel: 'sms', messageId: 'm1' };

/** Bad inputs: schema, per-type rules, dates, header values, deliveryReport URLs. */
const BAD: [string, Record<string, unknown>][] = [
  ['missing channel and messageId', { tenantId: T, type: 'message.delivered' }],
  ['message.failed without error, unparsable date', { ...ok, type: 'message.failed', occurredAt: 'later' }],
  ['unknown field', { ...ok, colour: 'blue' }],
  ['unknown type', { ...ok, type: 'message.bogus' }],
  ['missing tenantId', { type: 'auth.success' }],
  ['id of characters not allowed', { ...ok, id: 'evt 1' }],
  ['operational type', { tenantId: T, type: 'delivery.exhausted' }],
  ['deliveryReport not a URL', { ...ok, deliveryReport: { webhookUrl: 'not a url' } }],
  ['deliveryReport to a blocked address', { ...ok, deliveryReport: { webhookUrl: 'http://10.0.0.1/dlr' } }],
  [
    'deliveryReport secret with CR/LF',
    { ...ok, deliveryReport: { webhookUrl: 'http://127.0.0.1:9/dlr', webhookSecret: 'a\r\nb' } },
  ],
  [
    'rule and URL problems together',
    { tenantId: T, type: 'message.read', deliveryReport: { webhookUrl: 'http://10.0.0.1/dlr' } },
  ],
];

async function viaPublisher(p: Promise<unknown>): Promise<Refusal> {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: string; errors?: { path: string }[] } | undefined;
  expect(err, 'the publisher accepted it').toBeDefined();
  return { code: err!.code, paths: (err!.errors ?? []).map((e) => e.path).sort() };
}

async function viaApi(url: string, body: unknown, headers?: Record<string, string>): Promise<Refusal> {
  const res = await h.request<{ code?: string; errors?: { path: string }[] }>({
    method: 'POST',
    url,
    body,
    headers,
  });
  expect(res.status, JSON.stringify(res.body)).toBeGreaterThanOrEqual(400);
  return { code: res.body.code, paths: (res.body.errors ?? []).map((e) => e.path).sort() };
}

describe('acceptEvents: the API and the publisher refuse alike', () => {
  it.each(BAD)('one event: %s', async (_name, input) => {
    const api = await viaApi('/v1/events', input);
    const lib = await viaPublisher(publisher.publish(input));
    expect(lib).toEqual(api);
    expect(api.code).toMatch(/^(validation_error|ssrf_blocked)$/);
    expect(api.paths.length).toBeGreaterThan(0);
  });

  it.each(BAD)('in a batch, after a good event: %s', async (_name, input) => {
    const api = await viaApi('/v1/events/batch', { events: [ok, input] });
    const lib = await viaPublisher(publisher.publishBatch([ok, input]));
    // The API's batch is the body's `events`; the publisher's is the array itself.
    expect(lib).toEqual({ ...api, paths: api.paths.map((p) => p.replace(/^\/events/, '')) });
    expect(lib.paths.every((p) => p.startsWith('/1'))).toBe(true);
  });

  it("refuses another tenant's event for a tenant's client and a tenant's publisher alike", async () => {
    const auth = await tenantAuth(h, T, ['events:publish']);
    const other = { ...ok, tenantId: 'someone-else' };
    const api = await viaApi('/v1/events', other, auth);
    expect(api).toEqual({ code: 'validation_error', paths: ['/tenantId'] });
    expect(await viaPublisher(own.publish(other))).toEqual(api);
    // Its own tenant's event goes through both ways.
    const mine = { ...ok, id: `evt_own_${Date.now()}` };
    expect((await own.publish(mine)).duplicate).toBe(false);
    const again = await h.request({ method: 'POST', url: '/v1/events', body: mine, headers: auth });
    expect(again.body).toEqual({ id: mine.id, duplicate: true });
  });
});

describe('createPublisher({ config })', () => {
  it('takes its settings from a Config, not the environment', async () => {
    const saved = process.env.ALLOW_HTTP_WEBHOOKS;
    process.env.ALLOW_HTTP_WEBHOOKS = 'false';
    const p = createPublisher({ config: h.config });
    try {
      // h.config allows http:// and 127.0.0.1: accepted whatever the environment says.
      const res = await p.publish({ ...ok, deliveryReport: { webhookUrl: 'http://127.0.0.1:9/dlr' } });
      expect(res.duplicate).toBe(false);
    } finally {
      await p.close();
      if (saved === undefined) delete process.env.ALLOW_HTTP_WEBHOOKS;
      else process.env.ALLOW_HTTP_WEBHOOKS = saved;
    }
  });
});
