// /metrics: Prometheus text from a per-instance registry; counters move with real deliveries.
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createMetrics, serveMetrics } from '../../src/pipeline/metrics.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { metricTypes, parseProm, sampleSum, type Sample } from './prom-text.js';

let h: Harness;
let rx: Receiver;
const tenant = `t_ops_${Date.now()}`;

beforeAll(async () => {
  h = await startHarness();
  rx = await startReceiver((r) => (r.path === '/fail' ? { status: 500, body: 'no' } : { status: 200 }));
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
});

async function scrape(harness = h): Promise<{ text: string; samples: Sample[]; contentType: string }> {
  const res = await harness.request({ method: 'GET', url: '/metrics', headers: { authorization: '' } });
  expect(res.status).toBe(200);
  return { text: res.raw, samples: parseProm(res.raw), contentType: String(res.headers['content-type']) };
}

async function subscribe(path: string, extra: Record<string, unknown> = {}) {
  const res = await h.request<{ id: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenant}`,
    body: { webhookUrl: `${rx.url}${path}`, events: ['message.delivered'], ...extra },
  });
  expect(res.status, res.raw).toBe(201);
  return res.body.id;
}

async function publish(extra: Record<string, unknown> = {}) {
  const res = await h.request({
    method: 'POST',
    url: '/v1/events',
    body: {
      tenantId: tenant,
      type: 'message.delivered',
      channel: 'sms',
      messageId: `m_${Math.random()}`,
      ...extra,
    },
  });
  expect(res.status, res.raw).toBe(202);
  return res.body as { id: string };
}

describe('/metrics', () => {
  it('serves the Prometheus text format without auth, with every Hookline family and process metrics', async () => {
    const { text, contentType } = await scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const types = metricTypes(text);
    expect(Object.fromEntries(types)).toMatchObject({
      hookline_events_accepted_total: 'counter',
      hookline_deliveries_total: 'counter',
      hookline_delivery_errors_total: 'counter',
      hookline_delivery_attempt_duration_seconds: 'histogram',
      hookline_delivery_latency_seconds: 'histogram',
      hookline_queue_jobs: 'gauge',
      hookline_oauth_token_requests_total: 'counter',
      hookline_breaker_state: 'gauge',
      process_cpu_user_seconds_total: 'counter',
      nodejs_eventloop_lag_seconds: 'gauge',
    });
  });

  it('counts accepted events, deliveries by outcome and status class, durations and end-to-end latency', async () => {
    const okSub = await subscribe('/ok');
    const failSub = await subscribe('/fail', { maxRetries: 0 });
    const before = (await scrape()).samples;

    await publish();
    await publish({ id: 'evt_ops_dup' });
    await publish({ id: 'evt_ops_dup' }); // a duplicate is not accepted twice
    await rx.waitFor(2, { filter: (r) => r.path === '/ok' });
    await rx.waitFor(2, { filter: (r) => r.path === '/fail' });

    const delta = (s: Sample[], name: string, labels: Record<string, string> = {}) =>
      sampleSum(s, name, labels) - sampleSum(before, name, labels);
    // The hook runs right after the attempt is recorded; poll the scrape until it shows all four.
    const after = await h.until(async () => {
      const s = (await scrape()).samples;
      return delta(s, 'hookline_deliveries_total') >= 4 ? s : undefined;
    });
    // Operational events (delivery.exhausted for the failing deliveries) are accepted events too.
    expect(
      delta(after, 'hookline_events_accepted_total') - delta(after, 'hookline_operational_events_total'),
    ).toBe(2);
    expect(delta(after, 'hookline_deliveries_total', { outcome: 'succeeded', status_class: '2xx' })).toBe(2);
    expect(delta(after, 'hookline_deliveries_total', { outcome: 'failed', status_class: '5xx' })).toBe(2);
    expect(delta(after, 'hookline_delivery_errors_total', { code: 'http_error' })).toBe(2);
    expect(delta(after, 'hookline_delivery_attempt_duration_seconds_count')).toBe(4);
    expect(delta(after, 'hookline_delivery_attempt_duration_seconds_bucket', { le: '+Inf' })).toBe(4);
    expect(delta(after, 'hookline_delivery_latency_seconds_count')).toBe(2);
    expect(delta(after, 'hookline_delivery_latency_seconds_sum')).toBeGreaterThan(0);
    expect(okSub).not.toBe(failSub);
  });

  it('reports queue depths by state, including the permanently failed deliveries', async () => {
    const { samples } = await scrape();
    const queues = new Set(
      samples.filter((s) => s.name === 'hookline_queue_jobs').map((s) => s.labels.queue),
    );
    expect([...queues].sort()).toEqual(
      [h.hookline.ctx.deliveriesQueue.name, h.hookline.ctx.eventsQueue.name].sort(),
    );
    const failed = await h.until(async () => {
      // Counts are cached for 1.5 s to protect Redis: poll until the fresh value shows.
      const s = (await scrape()).samples;
      const n = sampleSum(s, 'hookline_queue_jobs', {
        queue: h.hookline.ctx.deliveriesQueue.name,
        state: 'failed',
      });
      return n >= 2 ? n : undefined;
    });
    expect(failed).toBe(2);
    for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) {
      expect(samples.some((s) => s.name === 'hookline_queue_jobs' && s.labels.state === state)).toBe(true);
    }
  });

  it('exposes OAuth token requests and breaker state reported through ctx.metrics', async () => {
    const m = h.hookline.ctx.metrics;
    m.oauthTokenRequest('success');
    m.oauthTokenRequest('success');
    m.oauthTokenRequest('error');
    m.breakerState('sub_open', 'open');
    m.breakerState('sub_probe', 'half_open');
    m.breakerState('sub_healed', 'open');
    m.breakerState('sub_healed', 'closed');
    const { samples } = await scrape();
    expect(sampleSum(samples, 'hookline_oauth_token_requests_total', { outcome: 'success' })).toBe(2);
    expect(sampleSum(samples, 'hookline_oauth_token_requests_total', { outcome: 'error' })).toBe(1);
    const breakers = samples.filter((s) => s.name === 'hookline_breaker_state');
    expect(breakers.map((s) => [s.labels.subscription_id, s.value]).sort()).toEqual([
      ['sub_open', 2],
      ['sub_probe', 1],
    ]);
  });

  it('keeps one registry per instance: a second Hookline in the same process starts from zero', async () => {
    const other = await startHarness();
    try {
      const { samples } = await scrape(other);
      expect(sampleSum(samples, 'hookline_events_accepted_total')).toBe(0);
      expect(sampleSum(samples, 'hookline_deliveries_total')).toBe(0);
      expect(sampleSum((await scrape()).samples, 'hookline_events_accepted_total')).toBeGreaterThanOrEqual(2);
    } finally {
      await other.close();
    }
  });

  it('drops an open breaker that nobody re-reported within breakerStaleMs', async () => {
    let t = 1_000_000;
    const m = createMetrics({ breakerStaleMs: 60_000, now: () => t });
    m.breakerState('sub_stale', 'open');
    m.breakerState('sub_fresh', 'open');
    t += 50_000;
    m.breakerState('sub_fresh', 'open'); // re-reported by a check that found it still open
    t += 20_000;
    const breakers = parseProm(await m.scrape()).filter((s) => s.name === 'hookline_breaker_state');
    expect(breakers.map((s) => s.labels.subscription_id)).toEqual(['sub_fresh']);
  });

  it('reads queue counts at most once per cache window, and survives a Redis that fails', async () => {
    let calls = 0;
    let fail = false;
    const queue = {
      name: 'q',
      async getJobCounts() {
        calls++;
        if (fail) throw new Error('redis down');
        return { waiting: 7 };
      },
    };
    const m = createMetrics({ queueCountsCacheMs: 60_000 });
    m.trackQueues([queue]);
    const first = parseProm(await m.scrape());
    await m.scrape();
    expect(calls).toBe(1);
    expect(sampleSum(first, 'hookline_queue_jobs', { queue: 'q', state: 'waiting' })).toBe(7);
    expect(sampleSum(first, 'hookline_queue_jobs', { queue: 'q', state: 'delayed' })).toBe(0);

    const failing = createMetrics({ queueCountsCacheMs: 60_000 });
    failing.trackQueues([queue]);
    fail = true;
    const text = await failing.scrape(); // the scrape itself still succeeds
    expect(parseProm(text).filter((s) => s.name === 'hookline_queue_jobs')).toEqual([]);
    expect(text).toContain('process_cpu_user_seconds_total');
    fail = false;
    await failing.scrape(); // a failed read is not cached
    expect(sampleSum(parseProm(await failing.scrape()), 'hookline_queue_jobs', { state: 'waiting' })).toBe(7);
  });

  it('gives a worker-only process its own /metrics listener with METRICS_PORT', async () => {
    const logged: Record<string, unknown>[] = [];
    const logger = createLogger('info', {}, { write: (msg: string) => void logged.push(JSON.parse(msg)) });
    const worker = await startHarness({ METRICS_PORT: '0', HOST: '127.0.0.1' }, { api: false, logger });
    let port: number;
    try {
      expect(worker.hookline.app).toBeUndefined();
      const line = await worker.until(() => logged.find((l) => l.msg === 'metrics listening'));
      port = (line.address as AddressInfo).port;
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      const samples = parseProm(await res.text());
      expect(samples.some((s) => s.name === 'hookline_queue_jobs')).toBe(true);
    } finally {
      await worker.close();
    }
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it('serves /metrics and /healthz on a bare listener for worker-only processes', async () => {
    const m = createMetrics();
    m.eventsAccepted(4);
    const server = serveMetrics(m, createLogger('silent'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const get = (path: string) =>
      new Promise<{ status: number; body: string; type: string }>((resolve, reject) => {
        httpRequest({ host: '127.0.0.1', port, path }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode!, body, type: String(res.headers['content-type']) }),
          );
        })
          .on('error', reject)
          .end();
      });
    try {
      const metrics = await get('/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.type).toMatch(/^text\/plain/);
      expect(sampleSum(parseProm(metrics.body), 'hookline_events_accepted_total')).toBe(4);
      expect(await get('/healthz')).toMatchObject({ status: 200, body: '{"status":"ok"}' });
      expect((await get('/nope')).status).toBe(404);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
