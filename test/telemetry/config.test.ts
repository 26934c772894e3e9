// When the OTEL_* variables turn tracing on, and what they ask of it.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { activeTraceparent, traceLogFields } from '../../src/telemetry/spans.js';
import {
  contextOfTraceparent,
  formatTraceparent,
  parseTraceparent,
} from '../../src/telemetry/traceparent.js';
import { trace } from '@opentelemetry/api';

describe('OTEL_* configuration', () => {
  it('leaves tracing off by default, with OTEL_TRACES_EXPORTER=none and OTEL_SDK_DISABLED', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' }).tracing).toBeUndefined();
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(loadConfig({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).tracing).toBeUndefined();
    expect(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
  });

  it('turns on with an endpoint: /v1/traces under it, http/protobuf, parent-based always on', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }).tracing).toMatchObject({
      exporter: 'otlp',
      url: 'http://127.0.0.1:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: 'hookline',
      sampler: 'parentbased_always_on',
      samplerArg: 1,
      batch: {
        scheduledDelayMillis: 5000,
        maxQueueSize: 8192,
        maxExportBatchSize: 512,
        exportTimeoutMillis: 30000,
      },
    });
    const small = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_BSP_MAX_QUEUE_SIZE: '100' };
    expect(loadConfig(small).tracing?.batch).toMatchObject({ maxQueueSize: 100, maxExportBatchSize: 100 });
  });

  it('adds no trace fields to log lines while tracing is off', () => {
    expect(traceLogFields()).toEqual({});
    expect(activeTraceparent()).toBeUndefined();
  });

  it('takes the traces endpoint as it is, the exporter, protocol, service name and sampler', () => {
    const t = loadConfig({
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/custom',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'hookline-eu',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    }).tracing;
    expect(t).toMatchObject({
      url: 'http://127.0.0.1:4318/custom',
      protocol: 'http/json',
      serviceName: 'hookline-eu',
      sampler: 'parentbased_traceidratio',
      samplerArg: 0.25,
    });
    expect(loadConfig({ OTEL_TRACES_EXPORTER: 'otlp' }).tracing?.url).toBe('http://localhost:4318/v1/traces');
    expect(loadConfig({ OTEL_TRACES_EXPORTER: 'console' }).tracing?.exporter).toBe('console');
  });

  it.each([
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc'],
    ['OTEL_TRACES_SAMPLER', 'sometimes'],
    ['OTEL_TRACES_SAMPLER_ARG', '1.5'],
    ['OTEL_TRACES_EXPORTER', 'jaeger'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'not a url'],
  ])('refuses %s=%s naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});

describe('traceparent', () => {
  const sc = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 };

  it('round-trips a span context', () => {
    const tp = formatTraceparent(sc);
    expect(tp).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(parseTraceparent(tp)).toEqual({ ...sc, isRemote: true });
    expect(trace.getSpanContext(contextOfTraceparent(tp))).toEqual({ ...sc, isRemote: true });
    // An unsampled parent stays unsampled.
    const unsampled = formatTraceparent({ ...sc, traceFlags: 0 });
    expect(unsampled).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00');
    expect(parseTraceparent(unsampled)).toEqual({ ...sc, traceFlags: 0, isRemote: true });
  });

  it('ignores what is absent, malformed or invalid (a new trace starts)', () => {
    for (const bad of [
      undefined,
      '',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902g7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x',
    ])
      expect(trace.getSpanContext(contextOfTraceparent(bad))).toBeUndefined();
    expect(formatTraceparent({ ...sc, spanId: '0000000000000000' })).toBeUndefined();
  });
});
