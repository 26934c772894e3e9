// SSRF at connect time (DNS rebinding), end to end: a name that resolves to the allowlisted
// 127.0.0.1 when it is saved and to the blocked 127.0.0.2 when a delivery connects. The
// attempt must record ssrf_blocked, the delivery must end failed after one attempt, and the
// listener on 127.0.0.2 must never see a connection.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SsrfLookup } from '../../src/delivery/ssrf.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { uniqueTenant, zoneLookup } from './support.js';

interface Listener {
  port: number;
  connections: number;
  close(): Promise<void>;
}

/** A raw TCP listener that counts connections (any connection at all is the failure). */
async function countingListener(host: string): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    listener.connections++;
    sockets.add(socket);
    socket.destroy();
  });
  const listener: Listener = {
    port: 0,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  listener.port = (server.address() as net.AddressInfo).port;
  return listener;
}

interface DeliveryRecord {
  id: string;
  status: string;
  attempts: { n: number; statusCode: number | null; error: { code: string; message: string } | null }[];
}
interface EventView {
  deliveries: { id: string; status: string; target?: string; attempts: number }[];
}

const zone: Record<string, string[]> = {};
/** Names whose answers change per lookup: each lookup takes the next answer, the last one sticks. */
const rebinding: Record<string, string[][]> = {};
const fixedZone = zoneLookup(zone);
const lookup: SsrfLookup = (host) => {
  const answers = rebinding[host];
  if (!answers) return fixedZone(host);
  const next = answers.length > 1 ? answers.shift()! : answers[0]!;
  return zoneLookup({ [host]: next })(host);
};
let h: Harness;
let internal: Listener;
let rx: Receiver;
const tenant = uniqueTenant('rebind');

beforeAll(async () => {
  internal = await countingListener('127.0.0.2');
  rx = await startReceiver();
  h = await startHarness({ ALLOWED_PRIVATE_CIDRS: '127.0.0.1/32' }, { security: { lookup } });
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
  await internal?.close();
});

async function publish(extra: Record<string, unknown> = {}) {
  const e = {
    id: `evt_${Math.random().toString(36).slice(2)}`,
    tenantId: tenant,
    type: 'message.delivered',
    channel: 'sms',
    messageId: `m_${Math.random().toString(36).slice(2)}`,
    ...extra,
  };
  const res = await h.request({ method: 'POST', url: '/v1/events', body: e });
  expect(res.status, res.raw).toBe(202);
  return e.id;
}

/** Waits until every delivery of an event has finished, then returns them. */
async function settled(eventId: string, count: number): Promise<EventView['deliveries']> {
  const view = await h.until(async () => {
    const res = await h.request<EventView>({
      method: 'GET',
      url: `/v1/events/${eventId}?tenantId=${tenant}`,
    });
    const ds = res.body.deliveries ?? [];
    return ds.length === count && ds.every((d) => ['succeeded', 'failed', 'cancelled'].includes(d.status))
      ? res.body
      : undefined;
  });
  return view.deliveries;
}

async function record(id: string): Promise<DeliveryRecord> {
  const res = await h.request<DeliveryRecord>({ method: 'GET', url: `/v1/deliveries/${id}` });
  expect(res.status, res.raw).toBe(200);
  return res.body;
}

async function expectBlockedOnce(deliveryId: string, code = 'ssrf_blocked') {
  const rec = await record(deliveryId);
  expect(rec.status).toBe('failed');
  expect(rec.attempts).toHaveLength(1);
  expect(rec.attempts[0]).toMatchObject({ n: 1, statusCode: null, error: { code } });
  // BullMQ agrees: the job failed for good, no retry is scheduled. (A direct first attempt's
  // failure is listed by a job queued after its record is written: wait for it.)
  const q = h.hookline.ctx.deliveriesQueue;
  await h.until(async () => (await q.getJobState(deliveryId)) === 'failed');
  const job = await q.getJob(deliveryId);
  expect(job?.attemptsMade).toBe(1);
  return rec;
}

describe('connect-time SSRF guard (DNS rebinding)', () => {
  it('positive control: the test resolver is what the delivery path uses', async () => {
    zone['good.test'] = ['127.0.0.1'];
    const sub = await h.request({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenant}`,
      body: {
        webhookUrl: `http://good.test:${rx.port}/ok`,
        events: ['message.delivered'],
        channels: ['sms'],
      },
    });
    expect(sub.status, sub.raw).toBe(201);
    const id = await publish({ channel: 'sms' });
    const [d] = await settled(id, 1);
    expect(d!.status).toBe('succeeded');
    expect(rx.requests.some((r) => r.headers['webhook-id'] === id)).toBe(true);
    await h.request({ method: 'DELETE', url: `/v1/subscriptions/${(sub.body as { id: string }).id}` });
  });

  it('a subscription whose host rebinds to 127.0.0.2 fails once with ssrf_blocked and never connects', async () => {
    zone['rebind.test'] = ['127.0.0.1'];
    const created = await h.request<{ id: string }>({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenant}`,
      body: {
        webhookUrl: `http://rebind.test:${internal.port}/hook`,
        events: ['message.delivered'],
        channels: ['whatsapp'],
        maxRetries: 10,
      },
    });
    expect(created.status, created.raw).toBe(201);

    zone['rebind.test'] = ['127.0.0.2'];
    const id = await publish({ channel: 'whatsapp' });
    const [d] = await settled(id, 1);
    const rec = await expectBlockedOnce(d!.id);
    expect(rec.attempts[0]!.error!.message).toMatch(/127\.0\.0\.2/);
    expect(internal.connections).toBe(0);
  });

  it('a host resolving to allowed and blocked addresses at once is refused whole', async () => {
    zone['split.test'] = ['127.0.0.1'];
    const created = await h.request({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenant}`,
      body: {
        webhookUrl: `http://split.test:${internal.port}/hook`,
        events: ['message.delivered'],
        channels: ['viber'],
      },
    });
    expect(created.status, created.raw).toBe(201);
    zone['split.test'] = ['127.0.0.1', '127.0.0.2'];
    const id = await publish({ channel: 'viber' });
    const [d] = await settled(id, 1);
    await expectBlockedOnce(d!.id);
    expect(internal.connections).toBe(0);
  });

  it("an event's deliveryReport host that rebinds is refused at connect the same way", async () => {
    // The API vets the URL while the request is in flight, so the answer must change between
    // that lookup and the worker's: the first answer is 127.0.0.1, every later one 127.0.0.2.
    rebinding['dlr-rebind.test'] = [['127.0.0.1'], ['127.0.0.2']];
    const id = await publish({
      channel: 'telegram',
      deliveryReport: { webhookUrl: `http://dlr-rebind.test:${internal.port}/dlr`, reportType: 'all' },
    });
    const [d] = await settled(id, 1);
    expect(d!.target).toBe('deliveryReport');
    await expectBlockedOnce(d!.id);
    expect(internal.connections).toBe(0);
  });

  it('an oauth2 tokenUrl host that rebinds is never connected to', async () => {
    zone['hook-ok.test'] = ['127.0.0.1'];
    zone['token-rebind.test'] = ['127.0.0.1'];
    const created = await h.request({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenant}`,
      body: {
        webhookUrl: `http://hook-ok.test:${rx.port}/oauth`,
        events: ['message.delivered'],
        channels: ['email'],
        maxRetries: 0,
        authType: 'oauth2',
        oauth2: {
          grantType: 'client_credentials',
          tokenUrl: `http://token-rebind.test:${internal.port}/token`,
          clientId: 'cid',
          clientSecret: 'oauth-client-secret-value',
        },
      },
    });
    expect(created.status, created.raw).toBe(201);
    zone['token-rebind.test'] = ['127.0.0.2'];
    const id = await publish({ channel: 'email' });
    const [d] = await settled(id, 1);
    const rec = await record(d!.id);
    expect(rec.status).toBe('failed');
    expect(rec.attempts).toHaveLength(1);
    // A refused token host is final (not retried), like a refused subscriber address.
    expect(rec.attempts[0]!.error!.code).toBe('ssrf_blocked');
    expect(rec.attempts[0]!.error!.message).toMatch(/ssrf_blocked|not an allowed destination/);
    expect(internal.connections).toBe(0);
    expect(rx.requests.some((r) => r.path === '/oauth')).toBe(false);
  });
});
