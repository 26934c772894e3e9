// Bull Board at /admin/queues: every route (page, JSON API, static assets) needs basic auth with
// ADMIN_TOKEN as the password; with it, both queues are listed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuthOk } from '../../src/api/plugins/bull-board.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

let h: Harness;
let rx: Receiver;
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

beforeAll(async () => {
  h = await startHarness();
  rx = await startReceiver(() => ({ status: 500 }));
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
});

const get = (url: string, authorization?: string) =>
  h.hookline.app!.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} });

describe('/admin/queues', () => {
  const urls = [
    '/admin/queues',
    '/admin/queues/',
    '/admin/queues/api/queues',
    '/admin/queues/static/favicon-32x32.png',
    '/admin/queues/queue/x',
  ];

  it.each(urls)('%s answers 401 with a Basic challenge without credentials', async (url) => {
    const res = await get(url);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it.each(urls)(
    '%s answers 401 to a wrong password, the bearer admin token, or a malformed header',
    async (url) => {
      for (const authorization of [
        basic('admin', 'wrong'),
        `Bearer ${h.config.ADMIN_TOKEN}`,
        'Basic %%%',
        basic(h.config.ADMIN_TOKEN, ''),
      ]) {
        expect((await get(url, authorization)).statusCode).toBe(401);
      }
    },
  );

  it('serves the board, its assets and its API to any username with the admin token', async () => {
    const auth = basic('ops', h.config.ADMIN_TOKEN);
    const page = await get('/admin/queues', auth);
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('<base href="/admin/queues/"');

    const asset = /static\/js\/main\.[^"']+\.js/.exec(page.body)?.[0];
    expect(asset).toBeDefined();
    expect((await get(`/admin/queues/${asset}`)).statusCode).toBe(401);
    const js = await get(`/admin/queues/${asset}`, auth);
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);

    const api = await get('/admin/queues/api/queues', auth);
    expect(api.statusCode).toBe(200);
    const names = (api.json() as { queues: { name: string; readOnlyMode: boolean; allowRetries: boolean }[] })
      .queues;
    expect(names.map((q) => q.name).sort()).toEqual(['hookline-deliveries', 'hookline-events']);
    for (const q of names) expect(q).toMatchObject({ readOnlyMode: false, allowRetries: true });
  });

  it('retries a failed delivery and cleans failed jobs from the board, refusing both without auth', async () => {
    const auth = basic('ops', h.config.ADMIN_TOKEN);
    const put = (url: string, authorization?: string) =>
      h.hookline.app!.inject({ method: 'PUT', url, headers: authorization ? { authorization } : {} });
    const tenantId = `t_board_${Date.now()}`;
    const sub = await h.request({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenantId}`,
      body: { webhookUrl: `${rx.url}/board`, events: ['message.sent'], maxRetries: 0 },
    });
    expect(sub.status, sub.raw).toBe(201);
    const failedDelivery = async (messageId: string) => {
      const evt = await h.request<{ id: string }>({
        method: 'POST',
        url: '/v1/events',
        body: { tenantId, type: 'message.sent', channel: 'sms', messageId },
      });
      return h.until(async () => {
        const res = await h.request<{ deliveries: { id: string; status: string }[] }>({
          method: 'GET',
          url: `/v1/events/${evt.body.id}?tenantId=${tenantId}`,
        });
        const d = res.body.deliveries?.[0];
        return d && (await h.hookline.ctx.deliveriesQueue.getJobState(d.id)) === 'failed' ? d.id : undefined;
      });
    };

    const first = await failedDelivery('m_retry');
    rx.respond(() => ({ status: 200 }));
    expect((await put(`/admin/queues/api/queues/hookline-deliveries/${first}/retry`)).statusCode).toBe(401);
    expect((await put(`/admin/queues/api/queues/hookline-deliveries/${first}/retry`, auth)).statusCode).toBe(
      204,
    );
    const record = await h.until(async () => {
      const res = await h.request<{ status: string; attempts: unknown[] }>({
        method: 'GET',
        url: `/v1/deliveries/${first}`,
      });
      return res.body.status === 'succeeded' ? res.body : undefined;
    });
    expect(record.attempts).toHaveLength(2);

    rx.respond(() => ({ status: 500 }));
    const second = await failedDelivery('m_clean');
    expect(await h.hookline.ctx.deliveriesQueue.getJobCountByTypes('failed')).toBe(1);
    expect((await put(`/admin/queues/api/queues/hookline-deliveries/${second}/clean`)).statusCode).toBe(401);
    expect((await put(`/admin/queues/api/queues/hookline-deliveries/${second}/clean`, auth)).statusCode).toBe(
      204,
    );
    expect(await h.hookline.ctx.deliveriesQueue.getJobCountByTypes('failed')).toBe(0);
    // "Clean all" keeps jobs younger than Bull Board's 5 s grace time; here only the route is checked.
    expect((await put('/admin/queues/api/queues/hookline-deliveries/clean/failed')).statusCode).toBe(401);
    expect((await put('/admin/queues/api/queues/hookline-deliveries/clean/failed', auth)).statusCode).toBe(
      200,
    );
  });

  it('masks an event’s own deliveryReport secret in the job data it shows', async () => {
    const apiOnly = await startHarness({}, { workers: false }); // the event job stays waiting
    try {
      const secret = 'whs_board_secret_value_123';
      const pub = await apiOnly.request({
        method: 'POST',
        url: '/v1/events',
        body: {
          tenantId: 't_board',
          type: 'message.delivered',
          channel: 'sms',
          messageId: 'm_secret',
          deliveryReport: { webhookUrl: 'http://127.0.0.1:9/report', webhookSecret: secret },
        },
      });
      expect(pub.status, pub.raw).toBe(202);
      const res = await apiOnly.hookline.app!.inject({
        method: 'GET',
        url: '/admin/queues/api/queues?activeQueue=hookline-events&status=waiting&page=1',
        headers: { authorization: basic('ops', apiOnly.config.ADMIN_TOKEN) },
      });
      expect(res.statusCode).toBe(200);
      const queue = (
        res.json() as {
          queues: {
            name: string;
            jobs: { data: { events: { deliveryReport: { webhookSecret: string } }[] } }[];
          }[];
        }
      ).queues.find((q) => q.name === 'hookline-events');
      expect(queue!.jobs).toHaveLength(1);
      expect(queue!.jobs[0]!.data.events[0].deliveryReport.webhookSecret).toBe('whs_****');
      expect(res.body).not.toContain(secret);
    } finally {
      await apiOnly.close();
    }
  });

  it('keeps the board out of the OpenAPI document', async () => {
    const doc = (await get('/docs/json')).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/admin'))).toEqual([]);
    expect(doc.paths['/metrics']).toBeDefined();
  });
});

describe('basicAuthOk', () => {
  it('accepts any username and a password containing colons, refuses anything else', () => {
    expect(basicAuthOk(basic('', 'a:b'), 'a:b')).toBe(true);
    expect(basicAuthOk(basic('x', 'a:b'), 'a')).toBe(false);
    expect(basicAuthOk(undefined, 'a')).toBe(false);
    expect(basicAuthOk(`Basic ${Buffer.from('nocolon').toString('base64')}`, 'nocolon')).toBe(false);
  });
});
