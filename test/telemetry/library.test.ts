// The library's createPublisher in an application that runs its own OpenTelemetry SDK: given the
// application's tracer, each event's `hookline.publish` span goes under the caller's active span
// and its events job carries that span's traceparent for the workers; without it, nothing.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { createPublisher } from '../../src/index.js';
import type { EventJobData } from '../../src/pipeline/jobs.js';
import { createQueues } from '../../src/pipeline/jobs.js';
import { createRedis } from '../../src/redis/client.js';
import { deleteKeys } from '../helpers/harness.js';

const config = testConfig();
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const manager = new AsyncLocalStorageContextManager().enable();
const redis = createRedis(config.REDIS_URL, 'producer');
const { events: queue, deliveries } = createQueues(redis, config.REDIS_PREFIX);

beforeAll(() => {
  context.setGlobalContextManager(manager);
});
afterAll(async () => {
  context.disable();
  await provider.shutdown();
  await queue.close();
  await deliveries.close();
  redis.disconnect();
  await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
});

async function jobOf(eventId: string): Promise<EventJobData> {
  const jobs = await queue.getJobs(['waiting']);
  const job = jobs.find((j) => 'events' in j.data && j.data.events[0]?.id === eventId);
  return job!.data;
}

describe('createPublisher with the application tracer', () => {
  it('publishes under the caller span and carries the trace to the workers', async () => {
    const publisher = createPublisher({
      config,
      connection: redis,
      queue,
      tracer: provider.getTracer('hookline'),
    });
    const host = provider.getTracer('app');
    await host.startActiveSpan('app.order-shipped', async (span) => {
      await publisher.publish({ id: 'evt_lib', tenantId: 't_lib', type: 'auth.success' });
      span.end();
    });
    const spans = exporter.getFinishedSpans();
    const app = spans.find((s) => s.name === 'app.order-shipped')!;
    const publish = spans.find((s) => s.name === 'hookline.publish')!;
    expect(publish.attributes['hookline.event.id']).toBe('evt_lib');
    expect(publish.spanContext().traceId).toBe(app.spanContext().traceId);
    expect(publish.parentSpanContext?.spanId).toBe(app.spanContext().spanId);
    const data = await jobOf('evt_lib');
    expect((data as { tp?: string[] }).tp).toEqual([
      `00-${publish.spanContext().traceId}-${publish.spanContext().spanId}-01`,
    ]);
  });

  it('adds nothing without it, even inside the caller span', async () => {
    const publisher = createPublisher({ config, connection: redis, queue });
    await provider.getTracer('app').startActiveSpan('app.other', async (span) => {
      await publisher.publish({ id: 'evt_plain', tenantId: 't_lib', type: 'auth.success' });
      span.end();
    });
    expect(Object.keys(await jobOf('evt_plain'))).toEqual(['events']);
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
