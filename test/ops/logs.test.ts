// Logs an on-call engineer can use: one structured line per delivery attempt, and request ids on
// API logs, echoed in x-request-id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

type Line = Record<string, unknown>;
const lines: Line[] = [];
const raw: string[] = [];
let h: Harness;
let rx: Receiver;
const tenant = `t_logs_${Date.now()}`;
const TOKEN = 'tok_ops_logs_do_not_print_me';

beforeAll(async () => {
  const logger = createLogger(
    'info',
    {},
    {
      write(msg: string) {
        raw.push(msg);
        lines.push(JSON.parse(msg) as Line);
      },
    },
  );
  h = await startHarness({}, { logger });
  rx = await startReceiver((r) => (r.path === '/fail' ? { status: 503, body: 'down' } : { status: 204 }));
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
});

async function deliverTo(path: string, extra: Record<string, unknown> = {}) {
  const sub = await h.request<{ id: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenant}`,
    body: {
      webhookUrl: `${rx.url}${path}`,
      events: ['message.read'],
      authType: 'bearer',
      bearer: { token: TOKEN },
      ...extra,
    },
  });
  expect(sub.status, sub.raw).toBe(201);
  const evt = await h.request<{ id: string }>({
    method: 'POST',
    url: '/v1/events',
    body: { tenantId: tenant, type: 'message.read', channel: 'whatsapp', messageId: `m_${path.slice(1)}` },
  });
  expect(evt.status, evt.raw).toBe(202);
  return { subscriptionId: sub.body.id, eventId: evt.body.id };
}

const attemptLines = (d: { subscriptionId: string; eventId: string }) =>
  lines.filter(
    (l) => l.msg === 'delivery attempt' && l.subscriptionId === d.subscriptionId && l.eventId === d.eventId,
  );

describe('logs', () => {
  it('writes one structured line per delivery attempt, with no secret in it', async () => {
    const ok = await deliverTo('/ok');
    const bad = await deliverTo('/fail', { maxRetries: 1 });
    await rx.waitFor(1, { filter: (r) => r.path === '/ok' });
    await rx.waitFor(2, { filter: (r) => r.path === '/fail' });
    // The line is written right after the attempt is recorded; poll the captured lines.
    await h.until(() => attemptLines(ok).length === 1 && attemptLines(bad).length === 2);

    expect(attemptLines(ok)[0]).toMatchObject({
      level: 30,
      eventId: ok.eventId,
      deliveryId: expect.stringMatching(/\S/),
      subscriptionId: ok.subscriptionId,
      attempt: 1,
      statusCode: 204,
      durationMs: expect.any(Number),
      outcome: 'succeeded',
    });
    const [first, second] = attemptLines(bad);
    expect(first).toMatchObject({
      eventId: bad.eventId,
      attempt: 1,
      statusCode: 503,
      outcome: 'retrying',
      errorCode: 'http_error',
    });
    expect(second).toMatchObject({
      eventId: bad.eventId,
      attempt: 2,
      statusCode: 503,
      outcome: 'failed',
      deliveryId: first!.deliveryId,
    });
    expect(raw.join('').includes(TOKEN)).toBe(false);
  });

  it('echoes a caller’s x-request-id and logs the request under it', async () => {
    const res = await h.request({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'ops-req-42' },
    });
    expect(res.headers['x-request-id']).toBe('ops-req-42');
    const logged = lines.filter((l) => l.reqId === 'ops-req-42');
    expect(logged.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['incoming request', 'request completed']),
    );
    expect(logged.find((l) => l.msg === 'request completed')).toMatchObject({ res: { statusCode: 200 } });
  });

  it('generates a request id when the caller sends none, also on errors', async () => {
    const res = await h.request({
      method: 'GET',
      url: '/v1/subscriptions/sub_nope',
      headers: { authorization: '' },
    });
    expect(res.status).toBe(401);
    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^req_/);
    expect(lines.some((l) => l.reqId === id && l.msg === 'request completed')).toBe(true);
  });
});
