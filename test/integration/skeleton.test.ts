// The main path end to end: publish → fan-out → signed delivery → retries → records.
import { beforeEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { createPublisher } from '../../src/index.js';
import { withHarnessAndReceiver, type Harness } from '../helpers/harness.js';
import type { Received, Receiver } from '../helpers/receiver.js';

let h: Harness;
let rx: Receiver;
let tenant = '';
// Each test gets its own tenant, so subscriptions made by one never match another's events.
beforeEach(() => {
  tenant = `t_${Math.random().toString(36).slice(2)}`;
});

withHarnessAndReceiver((started) => ({ h, rx } = started));

async function subscribe(path: string, extra: Record<string, unknown> = {}, tenantId = tenant) {
  const res = await h.request<{ id: string; signingSecret: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenantId}`,
    body: { webhookUrl: `${rx.url}${path}`, events: ['message.*'], ...extra },
  });
  expect(res.status, res.raw).toBe(201);
  return res.body;
}

function verify(secret: string, r: Received) {
  return new Webhook(secret).verify(r.body, r.headers as Record<string, string>);
}

const event = (extra: Record<string, unknown> = {}) => ({
  id: `evt_${Math.random().toString(36).slice(2)}`,
  tenantId: tenant,
  type: 'message.delivered',
  channel: 'sms',
  messageId: 'msg-1',
  sender: 'ACME',
  recipient: '15551230000',
  ...extra,
});

describe('walking skeleton', () => {
  it('retries a 500, 500 then delivers on attempt 3 with a verifiable signature, and records every attempt', async () => {
    const sub = await subscribe('/flaky');
    let n = 0;
    rx.respond((r) =>
      r.path === '/flaky' && ++n <= 2 ? { status: 500, body: 'boom' } : { status: 200, body: 'thanks' },
    );
    const e = event();
    const pub = await h.request<{ id: string; duplicate: boolean }>({
      method: 'POST',
      url: '/v1/events',
      body: e,
    });
    expect(pub.status).toBe(202);
    expect(pub.body).toEqual({ id: e.id, duplicate: false });

    const got = await rx.waitFor(3, { filter: (r) => r.path === '/flaky' });
    for (const r of got) {
      expect(verify(sub.signingSecret, r)).toMatchObject({ id: e.id, type: 'message.delivered' });
      expect(r.headers['webhook-id']).toBe(e.id);
      expect(r.headers['user-agent']).toMatch(/^Hookline\//);
    }
    const payload = JSON.parse(got[2]!.body);
    expect(payload.data).toMatchObject({
      messageId: 'msg-1',
      channel: 'sms',
      status: 'delivered',
      isFinal: true,
    });

    const evt = await h.until(async () => {
      const res = await h.request<{ deliveries: { id: string; status: string }[] }>({
        method: 'GET',
        url: `/v1/events/${e.id}?tenantId=${e.tenantId}`,
      });
      return res.body.deliveries?.[0]?.status === 'succeeded' ? res.body : undefined;
    });
    const dlv = await h.request<{
      status: string;
      attempts: { n: number; statusCode: number; error: unknown; responseBody: string }[];
    }>({
      method: 'GET',
      url: `/v1/deliveries/${evt.deliveries[0]!.id}`,
    });
    expect(dlv.status).toBe(200);
    expect(dlv.body.status).toBe('succeeded');
    expect(dlv.body.attempts.map((a) => [a.n, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    expect(dlv.body.attempts[0]!.error).toEqual({ code: 'http_error', message: 'subscriber answered 500' });
    expect(dlv.body.attempts[2]!.responseBody).toBe('thanks');
    rx.respond(() => ({ status: 200 }));
  });

  it('fans one event out to exactly the 3 of 5 subscriptions that match', async () => {
    const t = `${tenant}_fan`;
    await subscribe('/m1', {}, t); // message.*
    await subscribe('/m2', { channels: ['sms'], senders: ['ACME'] }, t);
    await subscribe('/m3', { events: ['message.delivered'], reportType: 'final' }, t);
    await subscribe('/x1', { channels: ['whatsapp'] }, t); // wrong channel
    await subscribe('/x2', { events: ['auth.*'] }, t); // wrong type
    await subscribe('/x3', { senders: ['OTHER'] }, t); // wrong sender
    await subscribe('/x4', {}, `${t}_other`); // other tenant
    const e = event({ tenantId: t });
    expect((await h.request({ method: 'POST', url: '/v1/events', body: e })).status).toBe(202);
    const byEvent = (r: Received) => r.headers['webhook-id'] === e.id;
    const got = await rx.waitFor(3, { filter: byEvent });
    const evt = await h.until(async () => {
      const res = await h.request<{ deliveries: { status: string }[] }>({
        method: 'GET',
        url: `/v1/events/${e.id}?tenantId=${e.tenantId}`,
      });
      return res.body.deliveries?.length === 3 && res.body.deliveries.every((d) => d.status === 'succeeded')
        ? res.body
        : undefined;
    });
    expect(evt.deliveries).toHaveLength(3);
    expect(got.map((r) => r.path).sort()).toEqual(['/m1', '/m2', '/m3']);
    expect(rx.requests.filter(byEvent)).toHaveLength(3);
  });

  it('re-publishing the same id within 24 h delivers nothing new', async () => {
    await subscribe('/idem');
    const e = event();
    const first = await h.request({ method: 'POST', url: '/v1/events', body: e });
    const again = await h.request({ method: 'POST', url: '/v1/events', body: e });
    expect(first.body).toEqual({ id: e.id, duplicate: false });
    expect(again.body).toEqual({ id: e.id, duplicate: true });
    const batch = await h.request<{ results: unknown[] }>({
      method: 'POST',
      url: '/v1/events/batch',
      body: { events: [e, event()] },
    });
    expect(batch.status).toBe(202);
    expect(batch.body.results[0]).toEqual({ id: e.id, duplicate: true });
    const byEvent = (r: Received) => r.headers['webhook-id'] === e.id;
    await rx.waitFor(1, { filter: byEvent });
    // Wait until the batch's other event is delivered: anything from the duplicates would be queued before it.
    const other = (batch.body.results[1] as { id: string }).id;
    await rx.waitFor(1, { filter: (r) => r.headers['webhook-id'] === other });
    expect(rx.requests.filter(byEvent)).toHaveLength(1);
  });

  it.each([
    ['tenantId', { tenantId: undefined }, '/tenantId'],
    ['type', { type: 'message.nope' }, '/type'],
    ['channel', { channel: 'pigeon' }, '/channel'],
    ['channel required', { channel: undefined }, '/channel'],
    ['messageId required', { messageId: undefined }, '/messageId'],
    ['subProduct', { subProduct: 'promo' }, '/subProduct'],
    ['occurredAt', { occurredAt: 'yesterday' }, '/occurredAt'],
    ['error required for failed', { type: 'message.failed' }, '/error'],
    ['id too long', { id: 'x'.repeat(129) }, '/id'],
    ['unknown field', { colour: 'blue' }, '/colour'],
    ['data not an object', { data: 'text' }, '/data'],
    ['reply text', { type: 'message.reply', data: { type: 'text', text: { body: 5 } } }, '/data/text/body'],
    ['reply media', { type: 'message.reply', data: { type: 'image', media: { id: '1' } } }, '/data/image'],
    ['deliveryReport url', { deliveryReport: { reportType: 'all' } }, '/deliveryReport/webhookUrl'],
  ])('rejects a bad %s with a 400 naming the field', async (_name, patch, path) => {
    const res = await h.request<{ code: string; errors: { path: string }[] }>({
      method: 'POST',
      url: '/v1/events',
      body: event(patch),
    });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('validation_error');
    expect(res.body.errors.map((e) => e.path)).toContain(path);
  });

  it('rejects a batch with one bad item and queues nothing from it', async () => {
    await subscribe('/batch');
    const good = event();
    const res = await h.request<{ errors: { path: string }[] }>({
      method: 'POST',
      url: '/v1/events/batch',
      body: [good, event({ type: 'bad' })],
    });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e) => e.path)).toContain('/events/1/type');
    const again = await h.request({ method: 'POST', url: '/v1/events', body: good });
    expect(again.body).toEqual({ id: good.id, duplicate: false });
  });

  it('takes occurredAt as epoch milliseconds over the API (SPEC §2) and refuses a time no date can hold', async () => {
    await subscribe('/epoch');
    const ms = 1_700_000_000_123;
    const ok = await h.request({ method: 'POST', url: '/v1/events', body: event({ occurredAt: ms }) });
    expect(ok.status, ok.raw).toBe(202);
    const [got] = await rx.waitFor(1, { filter: (r) => r.path === '/epoch' });
    expect((JSON.parse(got!.body) as { timestamp: string }).timestamp).toBe(new Date(ms).toISOString());
    for (const occurredAt of [1e17, '99999999999999999', 'yesterday']) {
      const bad = await h.request<{ errors: { path: string }[] }>({
        method: 'POST',
        url: '/v1/events',
        body: event({ occurredAt }),
      });
      expect(bad.status, `${occurredAt}: ${bad.raw}`).toBe(400);
      expect(bad.body.errors.map((e) => e.path)).toEqual(['/occurredAt']);
    }
  });

  it('requires the admin token', async () => {
    const none = await h.request({
      method: 'POST',
      url: '/v1/events',
      body: event(),
      headers: { authorization: '' },
    });
    expect(none.status).toBe(401);
    const wrong = await h.request({
      method: 'POST',
      url: '/v1/events',
      body: event(),
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.status).toBe(401);
  });

  it('sends secret-header and bearer auth', async () => {
    await subscribe('/secret', {
      authType: 'secret',
      secret: { headerName: 'X-Api-Key', value: 'k-123456789012' },
    });
    await subscribe('/bearer', { authType: 'bearer', bearer: { token: 'tok-abcdefghijkl' } });
    const e = event();
    await h.request({ method: 'POST', url: '/v1/events', body: e });
    const got = await rx.waitFor(2, {
      filter: (r) => r.headers['webhook-id'] === e.id && ['/secret', '/bearer'].includes(r.path),
    });
    expect(got.find((r) => r.path === '/secret')!.headers['x-api-key']).toBe('k-123456789012');
    expect(got.find((r) => r.path === '/bearer')!.headers.authorization).toBe('Bearer tok-abcdefghijkl');
  });

  it('does not follow redirects and disables the subscription on 410', async () => {
    const t = `${tenant}_410`;
    const redirect = await subscribe('/redirect', { maxRetries: 0 }, t);
    const gone = await subscribe('/gone', {}, t);
    rx.respond((r) =>
      r.path === '/redirect'
        ? { status: 302, headers: { location: `${rx.url}/elsewhere` } }
        : r.path === '/gone'
          ? { status: 410 }
          : { status: 200 },
    );
    const e = event({ tenantId: t });
    await h.request({ method: 'POST', url: '/v1/events', body: e });
    const states = await h.until(async () => {
      const res = await h.request<{
        deliveries: { subscriptionId: string; status: string; lastStatusCode: number }[];
      }>({
        method: 'GET',
        url: `/v1/events/${e.id}?tenantId=${e.tenantId}`,
      });
      const ds = res.body.deliveries ?? [];
      return ds.length === 2 && ds.every((d) => d.status === 'failed') ? ds : undefined;
    });
    expect(states.find((d) => d.subscriptionId === redirect.id)!.lastStatusCode).toBe(302);
    expect(rx.requests.some((r) => r.path === '/elsewhere')).toBe(false);
    // The record is written before the subscription is disabled: wait for the latter.
    const sub = await h.until(async () => {
      const res = await h.request<{ status: string; disabledReason: string }>({
        method: 'GET',
        url: `/v1/subscriptions/${gone.id}`,
      });
      return res.body.status === 'disabled' ? res.body : undefined;
    });
    expect(sub).toMatchObject({ status: 'disabled', disabledReason: 'gone' });
    expect(rx.requests.filter((r) => r.path === '/gone')).toHaveLength(1);
    rx.respond(() => ({ status: 200 }));
  });

  it('createPublisher adds validated events from any Node process', async () => {
    await subscribe('/publisher');
    const publisher = createPublisher({ redisUrl: h.config.REDIS_URL, prefix: h.config.REDIS_PREFIX });
    try {
      await expect(publisher.publish({ tenantId: tenant, type: 'message.read' })).rejects.toMatchObject({
        code: 'validation_error',
      });
      const res = await publisher.publish(event({ type: 'message.read' }));
      expect(res.duplicate).toBe(false);
      expect(res.id).toMatch(/^evt_/);
      const got = await rx.waitFor(1, {
        filter: (r) => r.headers['webhook-id'] === res.id && r.path === '/publisher',
      });
      expect(JSON.parse(got[0]!.body).data.status).toBe('read');
      expect((await publisher.publish(event({ id: res.id }))).duplicate).toBe(true);
    } finally {
      await publisher.close();
    }
  });
});
