// Subscription actions against a real receiver: pause holds without spending attempts, resume
// releases (and re-enables a disabled one), test sends one signed sample, rotate-secret signs
// with both secrets during the grace period, ?verify=true saves nothing unless it gets a 2xx.
import { Webhook } from 'standardwebhooks';
import { beforeEach, describe, expect, it } from 'vitest';
import { withHarnessAndReceiver, type Harness } from '../helpers/harness.js';
import type { Receiver, Received } from '../helpers/receiver.js';

type Sub = Record<string, unknown> & { id: string; signingSecret: string };

let h: Harness;
let rx: Receiver;
let n = 0;
const T = 'actions';

withHarnessAndReceiver((started) => ({ h, rx } = started));
beforeEach(() => {
  rx.respond(() => ({ status: 200 }));
});

/** A unique path per subscription so each test waits for its own requests. */
async function created(body: Record<string, unknown> = {}, query = ''): Promise<Sub & { path: string }> {
  const path = `/a/${++n}`;
  const res = await h.request<Sub>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${T}${query}`,
    body: { webhookUrl: `${rx.url}${path}`, events: ['*'], ...body },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { ...res.body, path };
}

const forPath = (path: string) => (r: Received) => r.path === path;

function verify(secret: string, r: Received) {
  return new Webhook(secret).verify(r.body, {
    'webhook-id': r.headers['webhook-id'] as string,
    'webhook-timestamp': r.headers['webhook-timestamp'] as string,
    'webhook-signature': r.headers['webhook-signature'] as string,
  });
}

async function publish(type = 'message.delivered') {
  const res = await h.request<{ id: string }>({
    method: 'POST',
    url: '/v1/events',
    body: { tenantId: T, type, channel: 'sms', messageId: `m-${++n}` },
  });
  expect(res.status).toBe(202);
  return res.body.id;
}

async function deliveryOf(subId: string) {
  const ids = await h.hookline.ctx.deliveries.idsForSubscription(subId, { limit: 10 });
  return ids.length ? h.hookline.ctx.deliveries.get(ids[0]!) : undefined;
}

describe('pause and resume', () => {
  it('pause holds deliveries without spending an attempt; resume sends them at once', async () => {
    const sub = await created({ events: ['message.delivered'] });
    const paused = await h.request({ method: 'POST', url: `/v1/subscriptions/${sub.id}/pause` });
    expect(paused.body.status).toBe('paused');
    const eventId = await publish();
    const { redis, keys } = h.hookline.ctx;
    await h.until(
      async () => (await redis.sismember(keys.subHeld(sub.id), (await deliveryOf(sub.id))?.id ?? '')) === 1,
    );
    expect(rx.requests.filter(forPath(sub.path))).toHaveLength(0);
    expect((await deliveryOf(sub.id))?.attempts).toHaveLength(0);

    const resumed = await h.request({ method: 'POST', url: `/v1/subscriptions/${sub.id}/resume` });
    expect(resumed.body.status).toBe('active');
    const [got] = await rx.waitFor(1, { filter: forPath(sub.path), timeoutMs: 10_000 });
    expect(got!.headers['webhook-id']).toBe(eventId);
    const record = await h.until(async () => {
      const d = await deliveryOf(sub.id);
      return d?.status === 'succeeded' ? d : undefined;
    });
    expect(record.attempts).toHaveLength(1);
  });

  it('resume re-enables a disabled subscription and clears disabledReason', async () => {
    const sub = await created();
    await h.hookline.ctx.subscriptionStore.patchState(sub.id, (s) => ({
      ...s,
      status: 'disabled',
      disabledReason: 'failing',
    }));
    const before = await h.request({ method: 'GET', url: `/v1/subscriptions/${sub.id}` });
    expect(before.body).toMatchObject({ status: 'disabled', disabledReason: 'failing' });
    const res = await h.request({ method: 'POST', url: `/v1/subscriptions/${sub.id}/resume` });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('active');
    expect(res.body).not.toHaveProperty('disabledReason');
  });
});

describe('POST …/:id/test', () => {
  it('sends one signed sample with the subscription’s auth and echoes it with secrets masked', async () => {
    const sub = await created({
      authType: 'secret',
      secret: { headerName: 'X-Api-Key', value: 'test-route-secret' },
      events: ['message.*'],
    });
    rx.respond(() => ({ status: 202, headers: { 'x-receiver': 'yes' }, body: 'accepted' }));
    const res = await h.request({ method: 'POST', url: `/v1/subscriptions/${sub.id}/test` });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      ok: true,
      event: { type: 'message.delivered' },
      request: { method: 'POST', url: `${rx.url}${sub.path}` },
      response: { status: 202, body: 'accepted' },
    });
    const request = res.body.request as { headers: Record<string, string>; body: string };
    expect(request.headers['x-api-key']).toBe('test****');
    expect(res.raw).not.toContain('test-route-secret');
    expect((res.body.response as { headers: Record<string, string> }).headers['x-receiver']).toBe('yes');
    expect(res.body.durationMs).toEqual(expect.any(Number));
    const [got] = await rx.waitFor(1, { filter: forPath(sub.path) });
    expect(got!.headers['x-api-key']).toBe('test-route-secret');
    expect(got!.body).toBe(request.body);
    expect(() => verify(sub.signingSecret, got!)).not.toThrow();
  });

  it('sends the asked type, and reports a failing receiver with ok false and an error', async () => {
    const sub = await created({ authType: 'bearer', bearer: { token: 'bearer-test-token' } });
    rx.respond(() => ({ status: 500, body: 'boom' }));
    const res = await h.request({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}/test`,
      body: { type: 'message.failed' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      ok: false,
      response: { status: 500, body: 'boom' },
      error: { code: 'http_error' },
    });
    expect((res.body.request as { headers: Record<string, string> }).headers.authorization).toBe(
      'Bearer bear****',
    );
    const [got] = await rx.waitFor(1, { filter: forPath(sub.path) });
    expect(JSON.parse(got!.body).type).toBe('message.failed');
    // No delivery record: a test is not a delivery.
    expect(await deliveryOf(sub.id)).toBeUndefined();
  });

  it('refuses unknown types and fields', async () => {
    const sub = await created();
    const bad = await h.request({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}/test`,
      body: { type: 'message.nope' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: '/type' })]);
    const extra = await h.request({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}/test`,
      body: { loud: true },
    });
    expect(extra.status).toBe(400);
  });
});

describe('POST …/:id/rotate-secret', () => {
  it('signs with the new and the old secret during the default 24 h grace period', async () => {
    const sub = await created();
    const res = await h.request<{ signingSecret: string; previousSecretExpiresAt: string }>({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}/rotate-secret`,
    });
    expect(res.status).toBe(200);
    expect(res.body.signingSecret).toMatch(/^whsec_/);
    expect(res.body.signingSecret).not.toBe(sub.signingSecret);
    const expires = Date.parse(res.body.previousSecretExpiresAt) - Date.now();
    expect(expires).toBeGreaterThan(86_400_000 - 60_000);
    expect(expires).toBeLessThanOrEqual(86_400_000);
    const current = await h.request({ method: 'GET', url: `/v1/subscriptions/${sub.id}/secret` });
    expect(current.body.signingSecret).toBe(res.body.signingSecret);

    await h.request({ method: 'POST', url: `/v1/subscriptions/${sub.id}/test` });
    const [got] = await rx.waitFor(1, { filter: forPath(sub.path) });
    expect((got!.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);
    expect(() => verify(res.body.signingSecret, got!)).not.toThrow();
    expect(() => verify(sub.signingSecret, got!)).not.toThrow();
  });

  it('gracePeriodSeconds 0 stops the old secret at once; bad values are 400', async () => {
    const sub = await created();
    const res = await h.request<{ signingSecret: string; previousSecretExpiresAt: null }>({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}/rotate-secret`,
      body: { gracePeriodSeconds: 0 },
    });
    expect(res.body.previousSecretExpiresAt).toBeNull();
    await h.request({ method: 'POST', url: `/v1/subscriptions/${sub.id}/test` });
    const [got] = await rx.waitFor(1, { filter: forPath(sub.path) });
    expect((got!.headers['webhook-signature'] as string).split(' ')).toHaveLength(1);
    expect(() => verify(res.body.signingSecret, got!)).not.toThrow();
    expect(() => verify(sub.signingSecret, got!)).toThrow();
    const bad = await h.request({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}/rotate-secret`,
      body: { gracePeriodSeconds: -1 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: '/gracePeriodSeconds' })]);
  });

  it('keeps a second rotation’s older secrets only while they are unexpired', async () => {
    const sub = await created();
    await h.request({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}/rotate-secret`,
      body: { gracePeriodSeconds: 3600 },
    });
    await h.request({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}/rotate-secret`,
      body: { gracePeriodSeconds: 60 },
    });
    const stored = await h.hookline.ctx.subscriptionStore.get(sub.id);
    expect(stored!.signingSecrets).toHaveLength(3);
    expect(stored!.signingSecrets[0]!.expiresAt).toBeUndefined();
    expect(stored!.signingSecrets[2]!.secret).toBe(sub.signingSecret);
  });
});

describe('POST /v1/subscriptions?verify=true', () => {
  it('saves the subscription once a signed test request got a 2xx', async () => {
    const sub = await created({}, '&verify=true');
    const [got] = await rx.waitFor(1, { filter: forPath(sub.path) });
    expect(() => verify(sub.signingSecret, got!)).not.toThrow();
    expect((await h.request({ method: 'GET', url: `/v1/subscriptions/${sub.id}` })).status).toBe(200);
  });

  it('answers 422 verification_failed with the receiver’s status and body, saving nothing', async () => {
    rx.respond(() => ({ status: 500, body: `rejected: ${'x'.repeat(2000)}` }));
    const path = `/a/${++n}`;
    const webhookUrl = `${rx.url}${path}`;
    const before = await h.request<{ data: unknown[] }>({
      method: 'GET',
      url: `/v1/subscriptions?tenantId=${T}&limit=250`,
    });
    const res = await h.request({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${T}&verify=true`,
      body: { webhookUrl, events: ['*'] },
    });
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'verification_failed', receiverStatus: 500 });
    expect(res.body.receiverBody).toMatch(/^rejected: x+$/);
    expect((res.body.receiverBody as string).length).toBeLessThanOrEqual(512);
    expect(rx.requests.filter(forPath(path))).toHaveLength(1);
    const after = await h.request<{ data: unknown[] }>({
      method: 'GET',
      url: `/v1/subscriptions?tenantId=${T}&limit=250`,
    });
    expect(after.body.data).toHaveLength(before.body.data.length);
    // The URL was never claimed.
    rx.respond(() => ({ status: 200 }));
    const retry = await h.request({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${T}`,
      body: { webhookUrl, events: ['*'] },
    });
    expect(retry.status).toBe(201);
  });

  it('reports an unreachable endpoint as 422 with a null status', async () => {
    const res = await h.request({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${T}&verify=true`,
      body: { webhookUrl: 'http://127.0.0.1:9/closed', events: ['*'] },
    });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      code: 'verification_failed',
      receiverStatus: null,
      error: { code: 'connection_error' },
    });
  });
});
