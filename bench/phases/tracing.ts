// B1otel (issue 21): B1 with tracing off, then on (every event sampled, OTLP http/protobuf to a
// collector stand-in in the orchestrator), each against a fresh Hookline, in the same run.
import { startOtlpSink } from '../lib/otlp-sink.js';
import type { BenchContext } from '../lib/context.js';
import type { B1Result } from './hookline.js';

export interface B1OtelResult {
  off: B1Result;
  on: B1Result;
  /** on.perSecond / off.perSecond. */
  ratio: number;
  /** What the collector received during the traced run. */
  exports: { requests: number; bytes: number; deliverSpans: number };
}

/** `runB1(env)`: B1 on a fresh Hookline started with `env` on top of the bench's settings. */
export async function b1Tracing(
  ctx: BenchContext,
  runB1: (env: Record<string, string>) => Promise<B1Result>,
): Promise<B1OtelResult> {
  const off = await runB1({});
  const sink = await startOtlpSink();
  try {
    ctx.log(`B1otel: tracing on, exporting to ${sink.url}`);
    const on = await runB1({
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '1.0',
    });
    // The last spans are exported when that Hookline closes (runB1 closes it before returning).
    return { off, on, ratio: on.perSecond / off.perSecond, exports: sink.counts() };
  } finally {
    await sink.close();
  }
}
