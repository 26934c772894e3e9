// The trace context travels in the jobs only while tracing is on: with it off, an events job and a
// retry job carry exactly what they did before (not one byte more); with it on, the events job
// carries each event's traceparent and the retry job its fan-out span's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryId } from '../../src/domain/ids.js';
import type { DeliveryJobData, EventJobData } from '../../src/pipeline/jobs.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startCollector, type Collector } from '../helpers/otlp-collector.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/;

let rx: Receiver;
let collector: Collector;
beforeAll(async () => {
  rx = await startReceiver(() => ({ status: 503 }));
  collector = await startCollector();
});
afterAll(async () => {
  await rx?.close();
  await collector?.close();
});

async function subscribe(h: Harness, tenant: string) {
  const res = await h.request<{ id: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenant}`,
    // Retries far away: the retry job stays queued for the test to read.
    body: { webhookUrl: `${rx.url}/down`, events: ['*'] },
  });
  expect(res.status, res.raw).toBe(201);
  return res.body.id;
}

const publish = (h: Harness, tenant: string, id: string) =>
  h.request({
    method: 'POST',
    url: '/v1/events',
    body: { id, tenantId: tenant, type: 'message.sent', channel: 'sms', messageId: id },
  });

/** The events job an API-only Hookline queued for one publish call. */
async function eventsJobData(on: boolean): Promise<EventJobData> {
  const h = await startHarness(on ? { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url } : {}, { workers: false });
  try {
    expect((await publish(h, 't_jobs', 'evt_jobs')).status).toBe(202);
    const [job] = await h.hookline.ctx.eventsQueue.getJobs(['waiting']);
    return job!.data;
  } finally {
    await h.close();
  }
}

/** The retry job of a delivery whose direct first attempt got a 503. */
async function retryJobData(on: boolean): Promise<DeliveryJobData> {
  const h = await startHarness({
    RETRY_BASE_MS: '3600000',
    ...(on ? { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url } : {}),
  });
  try {
    const tenant = `t_${Math.random().toString(36).slice(2)}`;
    const sub = await subscribe(h, tenant);
    expect((await publish(h, tenant, 'evt_retry')).status).toBe(202);
    const id = deliveryId(tenant, 'evt_retry', sub);
    const job = await h.until(() => h.hookline.ctx.deliveriesQueue.getJob(id));
    return job.data;
  } finally {
    await h.close();
  }
}

describe('job data', () => {
  it('is unchanged with tracing off', async () => {
    const events = await eventsJobData(false);
    expect(Object.keys(events)).toEqual(['events']);
    const retry = await retryJobData(false);
    expect(Object.keys(retry).sort()).toEqual(['a', 'd', 'e', 's', 't']);
  });

  it('carries the traceparents with tracing on', async () => {
    const events = await eventsJobData(true);
    expect(Object.keys(events)).toEqual(['events', 'tp']);
    expect((events as { tp: string[] }).tp).toEqual([expect.stringMatching(TRACEPARENT)]);
    const retry = await retryJobData(true);
    expect(Object.keys(retry).sort()).toEqual(['a', 'd', 'e', 'p', 's', 't']);
    expect(retry.p).toMatch(TRACEPARENT);
  });
});
