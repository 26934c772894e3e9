// Micro-benchmark behind B1otel: the CPU per event of the three spans one delivered event makes
// (publish, fan-out, one attempt, with their attributes and traceparents), exported with the
// BatchSpanProcessor to a local OTLP/HTTP sink, per protocol. Cold (first batches) and warm.
// Run: npx tsx bench/micro/tracing-cost.ts
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deliverSpan, fanoutSpans, noteAttempt, publishSpans, withSpan } from '../../src/telemetry/spans.js';
import { startTracing } from '../../src/telemetry/tracing.js';

const BATCH = 500;
const events = Array.from({ length: BATCH }, (_, i) => ({
  id: `evt_${i}`,
  type: 'message.delivered',
  tenantId: 'bench-t0',
}));

/** CPU µs per event over `batches` publish batches of 500 events. */
async function run(batches: number): Promise<number> {
  const t0 = process.cpuUsage();
  for (let k = 0; k < batches; k++) {
    const p = publishSpans(events);
    const tps = events.map((_, i) => p.traceparent(i));
    p.end(events.map(() => false));
    const f = fanoutSpans(events, tps);
    for (let i = 0; i < BATCH; i++) {
      const e = events[i]!;
      const s = deliverSpan(f.parents[i], {
        ...e,
        subscriptionId: 'sub_1',
        attempt: 1,
      });
      await withSpan(s, async () => noteAttempt(s, { url: 'http://127.0.0.1:3000/hook', statusCode: 200 }));
      s.end();
    }
    f.end(BATCH);
    await new Promise((r) => setImmediate(r)); // lets the exporter's I/O run, as a busy process does
  }
  const c = process.cpuUsage(t0);
  return (c.user + c.system) / (batches * BATCH);
}

const sink = createServer((req, res) => req.resume().on('end', () => res.end()));
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/v1/traces`;
for (const protocol of ['http/protobuf', 'http/json'] as const) {
  const tracing = await startTracing({
    exporter: 'otlp',
    url,
    protocol,
    serviceName: 'bench',
    serviceVersion: '0',
    sampler: 'parentbased_always_on',
    samplerArg: 1,
  });
  const cold = await run(4);
  const warm = await run(40);
  const t0 = process.cpuUsage();
  await tracing.stop(); // exports what is left
  const c = process.cpuUsage(t0);
  console.log(
    `${protocol}: ${cold.toFixed(1)} µs CPU per event cold (2,000 events), ${warm.toFixed(1)} µs warm ` +
      `(20,000 events), + ${((c.user + c.system) / 1000).toFixed(0)} ms to export the rest at shutdown`,
  );
}
sink.close();
