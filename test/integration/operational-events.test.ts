// Operational events (SPEC §8, §9): a subscription disabled (410, failing too long) and a delivery
// that ran out of retries are reported as `subscription.disabled` / `delivery.exhausted`, signed,
// to the platform's OPS_WEBHOOK_URL (retried like any delivery) and to the tenant's subscriptions
// that ask for them by type — never `*`, never the subscription the event is about — and what
// happens to those deliveries never reports another one.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { ConfigError, testConfig } from '../../src/config.js';
import { createHookline } from '../../src/hookline.js';
import { createPublisher } from '../../src/services/publisher.js';
import { HooklineError } from '../../src/domain/errors.js';
import { startHarness, tenantAuth, type Harness } from '../helpers/harness.js';
import { startReceiver, type Received, type Receiver } from '../helpers/receiver.js';
import { parseProm, sampleSum } from '../ops/prom-text.js';
import { uniqueTenant } from '../resilience/support.js';

const OPS_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const DISABLE_AFTER_MS = 3_000;

let h: Harness;
let rx: Receiver;
let ops: Receiver;

interface OpsBody {
  id: string;
  type: string;
  timestamp: string;
  tenantId: string;
  data: Record<string, unknown>;
}

beforeAll(async () => {
  // The ops URL fails the first request of each event: every operational event is retried.
  const seen = new Set<string>();
  ops = await startReceiver((r) => {
    const id = String(r.headers['webhook-id']);
    if (seen.has(id)) return { status: 204 };
    seen.add(id);
    return { status: 503 };
  });
  rx = await startReceiver((r) =>
    r.path.startsWith('/gone')
      ? { status: 410 }
      : r.path.startsWith('/fail')
        ? { status: 500 }
        : { status: 200 },
  );
  h = await startHarness({
    OPS_WEBHOOK_URL: `${ops.url}/ops`,
    OPS_WEBHOOK_SECRET: OPS_SECRET,
    DISABLE_AFTER_MS: String(DISABLE_AFTER_MS),
  });
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
  await ops?.close();
});

const tag = () => Math.random().toString(36).slice(2, 8);
const bodyOf = (r: Received) => JSON.parse(r.body) as OpsBody;

interface Sub {
  id: string;
  signingSecret: string;
  path: string;
}

async function subscribe(
  tenantId: string,
  path: string,
  events: string[],
  extra: Record<string, unknown> = {},
): Promise<Sub> {
  const res = await h.request<{ id: string; signingSecret: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenantId}`,
    body: { webhookUrl: `${rx.url}${path}`, events, ...extra },
  });
  expect(res.status, res.raw).toBe(201);
  return { ...res.body, path };
}

/** Requests of one event (by webhook-id) to one subscription. */
const requestsOf = (eventId: string, s: Sub) =>
  rx.requests.filter((r) => r.path === s.path && r.headers['webhook-id'] === eventId);

async function publishMessage(tenantId: string): Promise<string> {
  const res = await h.request<{ id: string }>({
    method: 'POST',
    url: '/v1/events',
    body: { tenantId, type: 'message.delivered', channel: 'sms', messageId: `m_${tag()}` },
  });
  expect(res.status, res.raw).toBe(202);
  return res.body.id;
}

/** The first request of an operational event at the ops URL that `match` picks. */
async function atOps(match: (b: OpsBody) => boolean): Promise<Received> {
  const [got] = await ops.waitFor(1, { filter: (r) => match(bodyOf(r)) });
  return got!;
}

function verified(r: Received, secret: string): OpsBody {
  const headers = Object.fromEntries(
    ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((k) => [k, String(r.headers[k])]),
  );
  return new Webhook(secret).verify(r.body, headers) as OpsBody;
}

interface EventView {
  deliveries: { id: string; subscriptionId: string; target: string; status: string; attempts: number }[];
}
const eventView = async (id: string, tenant: string) =>
  (await h.request<EventView>({ method: 'GET', url: `/v1/events/${id}?tenantId=${tenant}` })).body;

describe('operational events', () => {
  it('reports a subscription disabled by 410, signed, to the ops URL and to subscription.* only', async () => {
    const tenant = uniqueTenant('gone');
    // It asks for subscription events itself: it still never gets the one about itself.
    const gone = await subscribe(tenant, `/gone-${tag()}`, ['message.*', 'subscription.*']);
    const watcher = await subscribe(tenant, `/watch-${tag()}`, ['subscription.*']);
    const exact = await subscribe(tenant, `/exact-${tag()}`, ['subscription.disabled']);
    const everything = await subscribe(tenant, `/all-${tag()}`, ['*']);
    const messages = await subscribe(tenant, `/msg-${tag()}`, ['message.*']);
    const exhausted = await subscribe(tenant, `/exh-${tag()}`, ['delivery.*']);
    await publishMessage(tenant);

    const first = await atOps((b) => b.type === 'subscription.disabled' && b.data.subscriptionId === gone.id);
    const event = verified(first, OPS_SECRET);
    expect(event).toMatchObject({
      type: 'subscription.disabled',
      tenantId: tenant,
      data: { subscriptionId: gone.id, reason: 'gone' },
    });
    expect(Object.keys(event.data).sort()).toEqual(['disabledAt', 'reason', 'subscriptionId']);
    const sub = await h.request<{ status: string; updatedAt: string }>({
      method: 'GET',
      url: `/v1/subscriptions/${gone.id}`,
    });
    expect(sub.body.status).toBe('disabled');
    expect(event.data.disabledAt).toBe(sub.body.updatedAt);
    // A signature made with another secret does not verify.
    expect(() => verified(first, `whsec_${randomBytes(32).toString('base64')}`)).toThrow();

    // The tenant's subscriptions that asked for it by type get it, signed with their own secret.
    for (const s of [watcher, exact]) {
      const [got] = await rx.waitFor(1, {
        filter: (r) => r.path === s.path && r.headers['webhook-id'] === event.id,
      });
      expect(verified(got!, s.signingSecret).data.subscriptionId).toBe(gone.id);
    }
    // Its destinations were decided at fan-out: the two, and the ops URL; not `*`, `message.*`,
    // `delivery.*`, nor the disabled subscription.
    const view = await eventView(event.id, tenant);
    expect(view.deliveries.map((d) => d.subscriptionId).sort()).toEqual([exact.id, 'ops', watcher.id].sort());
    for (const s of [everything, messages, exhausted, gone]) expect(requestsOf(event.id, s)).toEqual([]);

    // The tenant sees its operational event, not the delivery to the platform's URL.
    const asTenant = await tenantAuth(h, tenant);
    const own = await h.request<EventView>({
      method: 'GET',
      url: `/v1/events/${event.id}`,
      headers: asTenant,
    });
    expect(own.body.deliveries.map((d) => d.subscriptionId).sort()).toEqual([exact.id, watcher.id].sort());
    const opsDelivery = view.deliveries.find((d) => d.subscriptionId === 'ops')!;
    for (const url of [`/v1/deliveries/${opsDelivery.id}`, `/v1/deliveries/${opsDelivery.id}/retry`]) {
      const res = await h.request({ method: url.endsWith('retry') ? 'POST' : 'GET', url, headers: asTenant });
      expect(res.status, url).toBe(404);
    }
    const replay = await h.request<{ deliveries: { subscriptionId: string }[] }>({
      method: 'POST',
      url: `/v1/events/${event.id}/replay`,
      headers: asTenant,
    });
    expect(replay.status, replay.raw).toBe(202);
    expect(replay.body.deliveries.map((d) => d.subscriptionId)).not.toContain('ops');

    // The ops URL failed the first request: the delivery was retried and succeeded.
    const toOps = await h.until(async () => {
      const d = (await eventView(event.id, tenant)).deliveries.find((x) => x.subscriptionId === 'ops');
      return d?.status === 'succeeded' && d;
    });
    expect(toOps).toMatchObject({ target: 'ops', attempts: 2 });
    expect(ops.requests.filter((r) => r.headers['webhook-id'] === event.id)).toHaveLength(2);
  });

  it('reports a delivery that ran out of retries, to the ops URL and to delivery.*', async () => {
    const tenant = uniqueTenant('exhausted');
    const failing = await subscribe(tenant, `/fail-${tag()}`, ['message.*'], { maxRetries: 1 });
    const watcher = await subscribe(tenant, `/dwatch-${tag()}`, ['delivery.*']);
    const counted = sampleSum(
      parseProm(await h.hookline.ctx.metrics.scrape()),
      'hookline_operational_events_total',
      {
        type: 'delivery.exhausted',
      },
    );
    const eventId = await publishMessage(tenant);

    const got = await atOps((b) => b.type === 'delivery.exhausted' && b.data.eventId === eventId);
    const event = verified(got, OPS_SECRET);
    const [delivery] = (await eventView(eventId, tenant)).deliveries;
    expect(event).toMatchObject({
      tenantId: tenant,
      data: {
        deliveryId: delivery!.id,
        eventId,
        subscriptionId: failing.id,
        attempts: 2,
        lastError: { code: 'http_error', statusCode: 500 },
      },
    });
    expect(delivery).toMatchObject({ status: 'failed', attempts: 2 });
    const [tenantCopy] = await rx.waitFor(1, {
      filter: (r) => r.path === watcher.path && r.headers['webhook-id'] === event.id,
    });
    expect(verified(tenantCopy!, watcher.signingSecret).data.deliveryId).toBe(delivery!.id);
    const metrics = parseProm(await h.hookline.ctx.metrics.scrape());
    expect(sampleSum(metrics, 'hookline_operational_events_total', { type: 'delivery.exhausted' })).toBe(
      counted + 1,
    );
  });

  it('reports a subscription disabled for failing too long', async () => {
    const tenant = uniqueTenant('failing');
    const failing = await subscribe(tenant, `/fail-long-${tag()}`, ['message.*'], { maxRetries: 20 });
    await publishMessage(tenant);
    const got = await atOps(
      (b) => b.type === 'subscription.disabled' && b.data.subscriptionId === failing.id,
    );
    expect(verified(got, OPS_SECRET)).toMatchObject({
      tenantId: tenant,
      data: { subscriptionId: failing.id, reason: 'failing' },
    });
  });

  it('never reports what happens to the delivery of an operational event', async () => {
    const tenant = uniqueTenant('loop');
    const failing = await subscribe(tenant, `/fail-src-${tag()}`, ['message.*'], { maxRetries: 0 });
    // One ops subscriber fails for good on its only attempt, another answers 410.
    const broken = await subscribe(tenant, `/fail-ops-${tag()}`, ['delivery.*', 'subscription.*'], {
      maxRetries: 0,
    });
    const gone = await subscribe(tenant, `/gone-ops-${tag()}`, ['delivery.exhausted']);
    const first = await publishMessage(tenant);
    const e1 = await atOps((b) => b.type === 'delivery.exhausted' && b.data.eventId === first);
    const e1Id = bodyOf(e1).id;
    const finals = await h.until(async () => {
      const ds = (await eventView(e1Id, tenant)).deliveries.filter((d) => d.subscriptionId !== 'ops');
      return ds.length === 2 && ds.every((d) => d.status === 'failed') && ds;
    });
    expect(finals.map((d) => d.subscriptionId).sort()).toEqual([broken.id, gone.id].sort());
    const goneSub = await h.request<{ status: string }>({
      method: 'GET',
      url: `/v1/subscriptions/${gone.id}`,
    });
    expect(goneSub.body.status).toBe('disabled');

    // A later operational event of this tenant arrives: one about them would have come first.
    const second = await publishMessage(tenant);
    await atOps((b) => b.type === 'delivery.exhausted' && b.data.eventId === second);
    const about = ops.requests
      .map(bodyOf)
      .filter((b) => b.tenantId === tenant)
      .filter(
        (b) =>
          b.data.subscriptionId === broken.id ||
          b.data.subscriptionId === gone.id ||
          finals.some((d) => d.id === b.data.deliveryId),
      );
    expect(about).toEqual([]);
    expect(bodyOf(e1).data.subscriptionId).toBe(failing.id);
  });

  it('tests a subscription that receives only operational events with a sample of one', async () => {
    const tenant = uniqueTenant('sample');
    const sub = await subscribe(tenant, `/sample-${tag()}`, ['delivery.*']);
    const res = await h.request<{ ok: boolean; event: { type: string }; request: { body: string } }>({
      method: 'POST',
      url: `/v1/subscriptions/${sub.id}/test`,
      body: {},
    });
    expect(res.status, res.raw).toBe(200);
    expect(res.body).toMatchObject({ ok: true, event: { type: 'delivery.exhausted' } });
    expect(JSON.parse(res.body.request.body)).toMatchObject({
      type: 'delivery.exhausted',
      tenantId: tenant,
      data: { test: true, deliveryId: 'dlv_test', attempts: 11 },
    });
  });

  it('cannot be published by callers', async () => {
    const tenant = uniqueTenant('forge');
    const res = await h.request({
      method: 'POST',
      url: '/v1/events',
      body: { tenantId: tenant, type: 'subscription.disabled', data: { subscriptionId: 'sub_x' } },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'validation_error' });
    const publisher = createPublisher({ connection: h.hookline.ctx.redis, prefix: h.config.REDIS_PREFIX });
    try {
      const err = await publisher
        .publish({ tenantId: tenant, type: 'delivery.exhausted' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HooklineError);
      expect((err as HooklineError).code).toBe('validation_error');
    } finally {
      await publisher.close();
    }
  });
});

describe('OPS_WEBHOOK_URL at start', () => {
  it('needs OPS_WEBHOOK_SECRET, https unless allowed, and a valid secret (never echoed)', () => {
    expect(() => testConfig({ OPS_WEBHOOK_URL: 'https://ops.example.com/hook' })).toThrow(
      /OPS_WEBHOOK_SECRET is required with OPS_WEBHOOK_URL/,
    );
    expect(() =>
      testConfig({
        OPS_WEBHOOK_URL: 'http://ops.example.com/hook',
        OPS_WEBHOOK_SECRET: OPS_SECRET,
        ALLOW_HTTP_WEBHOOKS: 'false',
      }),
    ).toThrow(/OPS_WEBHOOK_URL must be an https URL/);
    let err: unknown;
    try {
      testConfig({
        OPS_WEBHOOK_URL: 'https://ops.example.com/hook',
        OPS_WEBHOOK_SECRET: 'whsec_short-secret',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(/OPS_WEBHOOK_SECRET must be whsec_/);
    expect(String((err as Error).message)).not.toContain('short-secret');
  });

  it('refuses to start when it points at a blocked address', async () => {
    const config = testConfig({
      OPS_WEBHOOK_URL: 'http://127.0.0.2:9/ops',
      OPS_WEBHOOK_SECRET: OPS_SECRET,
      ALLOWED_PRIVATE_CIDRS: '127.0.0.1/32',
    });
    await expect(createHookline(config, { api: false, workers: false })).rejects.toThrow(
      /OPS_WEBHOOK_URL ssrf_blocked/,
    );
  });
});
