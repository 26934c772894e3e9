// Log lines written inside a span (the pino mixin, src/logger.ts) carry that span's trace_id and
// span_id while tracing is on; lines written outside any span carry neither.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeTraceparent, traced } from '../../src/telemetry/spans.js';
import { startTracing, type TracingHandle } from '../../src/telemetry/tracing.js';
import { capturedLogger } from '../helpers/log-lines.js';
import { startCollector, type Collector } from '../helpers/otlp-collector.js';

let collector: Collector;
let tracing: TracingHandle;
beforeAll(async () => {
  collector = await startCollector();
  tracing = await startTracing({
    exporter: 'otlp',
    url: `${collector.url}/v1/traces`,
    protocol: 'http/protobuf',
    serviceName: 'hookline-test',
    serviceVersion: '0.0.0',
    sampler: 'always_on',
    samplerArg: 1,
  });
});
afterAll(async () => {
  await tracing?.stop();
  await collector?.close();
});

describe('log lines with tracing on', () => {
  it('carry the active span’s trace_id and span_id, and none outside a span', async () => {
    const { logger, lines } = capturedLogger();
    const tp = await traced('test.span', {}, async () => {
      logger.info('inside');
      return activeTraceparent();
    });
    logger.info('outside');
    const [, traceId, spanId] = tp!.split('-');
    expect(lines.map((l) => [l.msg, l.trace_id, l.span_id])).toEqual([
      ['inside', traceId, spanId],
      ['outside', undefined, undefined],
    ]);
  });
});
