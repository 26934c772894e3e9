// One event's trace as a real OTLP/HTTP endpoint receives it (http/protobuf and http/json): publish
// → fan-out → attempt 1 (503, with its OAuth2 token fetch) → its retry → attempt 2 (200), all in one
// trace, each attempt a child of the fan-out; attempt log lines carry the trace and span ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { capturedLogger } from '../helpers/log-lines.js';
import { startCollector, type CollectedSpan, type Collector } from '../helpers/otlp-collector.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { oauth2Settings, startTokenServer, type TokenServer } from '../helpers/token-server.js';

describe.each(['http/protobuf', 'http/json'] as const)('traces over OTLP %s', (protocol) => {
  let collector: Collector;
  let rx: Receiver;
  let ts: TokenServer;
  let h: Harness;
  const { logger, lines } = capturedLogger();
  const tenant = `t_${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    collector = await startCollector();
    rx = await startReceiver();
    ts = await startTokenServer();
    h = await startHarness(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_SERVICE_NAME: 'hookline-test',
      },
      { logger },
    );
  });
  afterAll(async () => {
    await h?.close();
    await rx?.close();
    await ts?.close();
    await collector?.close();
  });

  it('exports one trace per event from publish to the retried attempt', async () => {
    let n = 0;
    rx.respond((r) => (r.path === '/flaky' && ++n === 1 ? { status: 503, body: 'busy' } : { status: 200 }));
    const sub = await h.request<{ id: string }>({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenant}`,
      body: {
        webhookUrl: `${rx.url}/flaky`,
        events: ['message.*'],
        authType: 'oauth2',
        oauth2: oauth2Settings(ts),
      },
    });
    expect(sub.status, sub.raw).toBe(201);
    // A second subscriber that asked for the traceparent.
    const traced = await h.request<{ id: string; sendTraceparent: boolean }>({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenant}`,
      body: { webhookUrl: `${rx.url}/traced`, events: ['message.*'], sendTraceparent: true },
    });
    expect(traced.status, traced.raw).toBe(201);
    expect(traced.body.sendTraceparent).toBe(true);
    const eventId = `evt_${Math.random().toString(36).slice(2)}`;
    const pub = await h.request({
      method: 'POST',
      url: '/v1/events',
      body: {
        id: eventId,
        tenantId: tenant,
        type: 'message.delivered',
        channel: 'sms',
        messageId: 'm-1',
      },
    });
    expect(pub.status, pub.raw).toBe(202);
    await rx.waitFor(2, { filter: (r) => r.path === '/flaky' });
    const [tracedRequest] = await rx.waitFor(1, { filter: (r) => r.path === '/traced' });
    await h.until(async () => {
      const res = await h.request<{ deliveries: { status: string }[] }>({
        method: 'GET',
        url: `/v1/events/${eventId}?tenantId=${tenant}`,
      });
      return res.body.deliveries?.length === 2 && res.body.deliveries.every((d) => d.status === 'succeeded');
    });
    // The same event again: a duplicate, noted on its own publish span.
    const again = await h.request({
      method: 'POST',
      url: '/v1/events',
      body: { id: eventId, tenantId: tenant, type: 'message.delivered', channel: 'sms', messageId: 'm-1' },
    });
    expect(again.status, again.raw).toBeLessThan(300);
    // Closing flushes the spans still buffered.
    await h.hookline.close();

    expect(collector.contentTypes.length).toBeGreaterThan(0);
    for (const t of collector.contentTypes)
      expect(t).toContain(protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
    const ofEvent = collector.spans.filter((s) => s.attributes['hookline.event.id'] === eventId);
    const byName = (name: string) => ofEvent.filter((s) => s.name === name);
    const [publish, duplicate] = byName('hookline.publish');
    const [fanout] = byName('hookline.fanout');
    const delivers = byName('hookline.deliver')
      .filter((s) => s.attributes['hookline.subscription.id'] === sub.body.id)
      .sort((a, b) => Number(a.attributes['hookline.attempt']) - Number(b.attributes['hookline.attempt']));
    expect(publish, 'publish span').toBeDefined();
    expect(fanout, 'fan-out span').toBeDefined();
    expect(delivers).toHaveLength(2);
    const trace = publish!.traceId;
    expect(trace).toMatch(/^[0-9a-f]{32}$/);
    for (const s of [fanout!, ...delivers]) expect(s.traceId).toBe(trace);
    expect(publish!.parentSpanId).toBe('');
    expect(fanout!.parentSpanId).toBe(publish!.spanId);
    // The retry ran as a delivery job, after the direct first attempt: still the fan-out's child.
    for (const d of delivers) expect(d.parentSpanId).toBe(fanout!.spanId);
    expect(publish!.resource['service.name']).toBe('hookline-test');
    expect(byName('hookline.publish')).toHaveLength(2);
    expect(publish!.attributes['hookline.tenant.id']).toBe(tenant);
    expect(publish!.attributes['hookline.duplicate']).toBeUndefined();
    expect(duplicate?.attributes['hookline.duplicate']).toBe(true);
    expect(fanout!.attributes['hookline.batch.deliveries']).toBe(2);

    const [first, second] = delivers as [CollectedSpan, CollectedSpan];
    expect(first.attributes).toMatchObject({
      'hookline.event.id': eventId,
      'hookline.event.type': 'message.delivered',
      'hookline.subscription.id': sub.body.id,
      'hookline.attempt': 1,
      'server.address': '127.0.0.1',
      'http.response.status_code': 503,
      'hookline.error.code': 'http_error',
    });
    expect(first.statusCode).toBe(2);
    const retry = first.events.find((e) => e.name === 'hookline.retry');
    expect(retry?.attributes['hookline.retry.delay_ms']).toBeGreaterThan(0);
    expect(second.attributes).toMatchObject({
      'hookline.subscription.id': sub.body.id,
      'hookline.attempt': 2,
      'server.address': '127.0.0.1',
      'http.response.status_code': 200,
    });
    expect(second.attributes['hookline.error.code']).toBeUndefined();
    expect(second.statusCode).not.toBe(2);

    // Only the subscriber that asked got a traceparent: its attempt span's.
    for (const r of rx.requests.filter((r) => r.path === '/flaky'))
      expect(r.headers.traceparent).toBeUndefined();
    const [tracedSpan] = byName('hookline.deliver').filter(
      (s) => s.attributes['hookline.subscription.id'] === traced.body.id,
    );
    expect(tracedSpan!.parentSpanId).toBe(fanout!.spanId);
    expect(tracedRequest!.headers.traceparent).toBe(`00-${trace}-${tracedSpan!.spanId}-01`);

    // The token was fetched once, inside attempt 1; attempt 2 used the cached one.
    const tokens = collector.spans.filter(
      (s) => s.name === 'hookline.oauth2.token' && s.attributes['hookline.subscription.id'] === sub.body.id,
    );
    expect(tokens).toHaveLength(1);
    expect(tokens[0]!.traceId).toBe(trace);
    expect(tokens[0]!.parentSpanId).toBe(first.spanId);

    // Attempt log lines join the trace.
    const attempts = lines.filter(
      (l) => l.msg === 'delivery attempt' && l.eventId === eventId && l.subscriptionId === sub.body.id,
    );
    expect(attempts.map((l) => [l.attempt, l.trace_id, l.span_id])).toEqual([
      [1, trace, first.spanId],
      [2, trace, second.spanId],
    ]);
  });
});

describe('a held delivery', () => {
  let collector: Collector;
  let rx: Receiver;
  let h: Harness;
  const tenant = `t_${Math.random().toString(36).slice(2)}`;

  beforeAll(async () => {
    collector = await startCollector();
    rx = await startReceiver();
    h = await startHarness({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
  });
  afterAll(async () => {
    await h?.close();
    await rx?.close();
    await collector?.close();
  });

  it('shows the hold decision and the attempt after resume in the event trace', async () => {
    const sub = await h.request<{ id: string }>({
      method: 'POST',
      url: `/v1/subscriptions?tenantId=${tenant}`,
      body: { webhookUrl: `${rx.url}/held`, events: ['*'] },
    });
    expect(sub.status, sub.raw).toBe(201);
    const subId = sub.body.id;
    const paused = await h.request({
      method: 'POST',
      url: `/v1/subscriptions/${subId}/pause?tenantId=${tenant}`,
    });
    expect(paused.status, paused.raw).toBe(200);
    const eventId = `evt_${Math.random().toString(36).slice(2)}`;
    const pub = await h.request({
      method: 'POST',
      url: '/v1/events',
      body: { id: eventId, tenantId: tenant, type: 'auth.success' },
    });
    expect(pub.status, pub.raw).toBe(202);
    // Held: its job sleeps among the delayed ones, listed in the subscription's held set.
    await h.until(async () => (await h.hookline.ctx.redis.scard(h.hookline.ctx.keys.subHeld(subId))) === 1);
    const resumed = await h.request({
      method: 'POST',
      url: `/v1/subscriptions/${subId}/resume?tenantId=${tenant}`,
    });
    expect(resumed.status, resumed.raw).toBe(200);
    await rx.waitFor(1, { filter: (r) => r.path === '/held' });
    await h.hookline.close();

    const ofEvent = collector.spans.filter((s) => s.attributes['hookline.event.id'] === eventId);
    const [fanout] = ofEvent.filter((s) => s.name === 'hookline.fanout');
    const holds = ofEvent.filter((s) => s.name === 'hookline.hold');
    const delivers = ofEvent.filter((s) => s.name === 'hookline.deliver');
    expect(holds).toHaveLength(1);
    expect(delivers).toHaveLength(1);
    for (const s of [...holds, ...delivers]) {
      expect(s.traceId).toBe(fanout!.traceId);
      expect(s.parentSpanId).toBe(fanout!.spanId);
    }
    expect(holds[0]!.attributes).toMatchObject({
      'hookline.outcome': 'hold',
      'hookline.subscription.id': subId,
    });
    expect(holds[0]!.attributes['http.response.status_code']).toBeUndefined();
    const decision = holds[0]!.events.find((e) => e.name === 'hookline.hold');
    expect(decision?.attributes).toMatchObject({ 'hookline.hold.parked': true });
    expect(delivers[0]!.attributes).toMatchObject({
      'hookline.attempt': 1,
      'http.response.status_code': 200,
    });
  });
});

describe('a traced producer', () => {
  it('gets the publish spans of its events in its own trace (traceparent header)', async () => {
    const collector = await startCollector();
    const h = await startHarness({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
    try {
      const tenant = `t_${Math.random().toString(36).slice(2)}`;
      const producer = { trace: '4bf92f3577b34da6a3ce929d0e0e4736', span: '00f067aa0ba902b7' };
      const publish = (id: string, traceparent: string) =>
        h.request({
          method: 'POST',
          url: '/v1/events/batch',
          headers: { traceparent },
          body: [{ id, tenantId: tenant, type: 'auth.success' }],
        });
      expect((await publish('evt_child', `00-${producer.trace}-${producer.span}-01`)).status).toBe(202);
      expect((await publish('evt_root', 'garbage')).status).toBe(202);
      await h.hookline.close();
      const span = (id: string) =>
        collector.spans.find(
          (s) => s.name === 'hookline.publish' && s.attributes['hookline.event.id'] === id,
        );
      expect(span('evt_child')).toMatchObject({ traceId: producer.trace, parentSpanId: producer.span });
      expect(span('evt_root')?.traceId).not.toBe(producer.trace);
      expect(span('evt_root')?.parentSpanId).toBe('');
    } finally {
      await h.close();
      await collector.close();
    }
  });
});
