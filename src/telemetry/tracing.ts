// Tracing is off unless the OTEL_* variables turn it on (src/config.ts derives `config.tracing`).
// The OpenTelemetry SDK, its exporters and its context manager are imported here only when it
// is on (dynamic import()): a process without tracing loads @opentelemetry/api alone, and every
// place that makes spans first checks the live `tracer` binding, undefined while tracing is off.
import { context, type Tracer } from '@opentelemetry/api';
// A type only: erased, so it loads nothing.
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { PooledIdGenerator } from './span-ids.js';

export type TracesSampler =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

/** What the OTEL_* variables ask for, once tracing is on. */
export interface TracingSettings {
  /** `otlp` (OTLP over HTTP) or `console` (spans printed to stdout, for development). */
  exporter: 'otlp' | 'console';
  /** Where OTLP spans are POSTed (the `/v1/traces` URL). */
  url: string;
  protocol: 'http/protobuf' | 'http/json';
  serviceName: string;
  serviceVersion: string;
  sampler: TracesSampler;
  /** The ratio of the traceidratio samplers, 0 to 1. */
  samplerArg: number;
  /** The BatchSpanProcessor's settings (OTEL_BSP_*; the SDK reads none of them itself). */
  batch?: {
    scheduledDelayMillis: number;
    maxQueueSize: number;
    maxExportBatchSize: number;
    exportTimeoutMillis: number;
  };
}

/** Hookline's tracer while tracing is on; undefined while it is off (the check on hot paths). */
export let tracer: Tracer | undefined;

export interface TracingHandle {
  /** Exports the spans ended so far. */
  flush(): Promise<void>;
  /** Releases this user of the SDK; the last one flushes and shuts it down. */
  stop(): Promise<void>;
}

interface Running {
  users: number;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

let running: Promise<Running> | undefined;

/**
 * Starts the SDK (once per process: several Hooklines in one process, as tests run them, share
 * the first one's settings) and makes `tracer` Hookline's tracer.
 */
export async function startTracing(settings: TracingSettings): Promise<TracingHandle> {
  running ??= load(settings).catch((err: unknown) => {
    running = undefined;
    throw err;
  });
  const r = await running;
  r.users++;
  let stopped = false;
  return {
    flush: () => r.flush(),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (--r.users > 0) return;
      running = undefined;
      tracer = undefined;
      await r.shutdown();
    },
  };
}

async function load(s: TracingSettings): Promise<Running> {
  const [sdk, { AsyncLocalStorageContextManager }, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/resources'),
  ]);
  let exporter: SpanExporter;
  if (s.exporter === 'console') exporter = new sdk.ConsoleSpanExporter();
  else if (s.protocol === 'http/json') {
    const otlp = await import('@opentelemetry/exporter-trace-otlp-http');
    exporter = new otlp.OTLPTraceExporter({ url: s.url });
  } else exporter = await protobufExporter(s.url);

  const ratio = new sdk.TraceIdRatioBasedSampler(s.samplerArg);
  const root = {
    always_on: new sdk.AlwaysOnSampler(),
    always_off: new sdk.AlwaysOffSampler(),
    traceidratio: ratio,
  };
  const sampler = s.sampler.startsWith('parentbased_')
    ? new sdk.ParentBasedSampler({ root: root[s.sampler.slice('parentbased_'.length) as keyof typeof root] })
    : root[s.sampler as keyof typeof root];
  // OTEL_RESOURCE_ATTRIBUTES first; the service name and version Hookline was given win.
  const resource = resources
    .defaultResource()
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
    .merge(
      resources.resourceFromAttributes({
        'service.name': s.serviceName,
        'service.version': s.serviceVersion,
      }),
    );
  const provider = new sdk.TracerProvider({
    resource,
    sampler,
    idGenerator: new PooledIdGenerator(),
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter, ...s.batch })],
  });
  // Spans started inside a span's callback (an OAuth2 token fetch inside an attempt) and log
  // lines written there find it through the active context. A host application (the library's
  // createPublisher) may have registered its own manager already: then that one serves.
  const manager = new AsyncLocalStorageContextManager().enable();
  const own = context.setGlobalContextManager(manager);
  if (!own) manager.disable();
  tracer = provider.getTracer('hookline', s.serviceVersion);
  return {
    users: 0,
    flush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown();
      if (own) context.disable();
    },
  };
}

/**
 * The official OTLP/HTTP exporter's transport and configuration (the OTEL_EXPORTER_OTLP_* headers,
 * timeout, compression, certificates), with Hookline's encoder of the protobuf body
 * (src/telemetry/otlp-protobuf.ts) in place of the SDK's, which cost twice as much CPU per span.
 */
async function protobufExporter(url: string): Promise<SpanExporter> {
  const [base, http, transformer, { encodeSpans }] = await Promise.all([
    import('@opentelemetry/otlp-exporter-base'),
    import('@opentelemetry/otlp-exporter-base/node-http'),
    import('@opentelemetry/otlp-transformer'),
    import('./otlp-protobuf.js'),
  ]);
  const options = http.convertLegacyHttpOptions({ url }, 'TRACES', 'v1/traces', {
    'Content-Type': 'application/x-protobuf',
  });
  const serializer = {
    serializeRequest: encodeSpans,
    deserializeResponse: transformer.ProtobufTraceSerializer.deserializeResponse,
  };
  return new base.OTLPExporterBase<ReadableSpan[]>(
    http.createOtlpHttpExportDelegate(
      options,
      serializer,
      'otlp_http_span_exporter',
      transformer.TraceExporterMetricsHelper,
      undefined,
    ),
  );
}
