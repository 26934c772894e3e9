// Hookline's OTLP protobuf encoder says what the SDK's says: both encodings of the same finished
// spans, decoded field by field (defaults dropped, as protobuf readers do), are equal.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { encodeSpans } from '../../src/telemetry/otlp-protobuf.js';
import { PooledIdGenerator } from '../../src/telemetry/span-ids.js';

/** Each message's fields by number: a nested message's type, or how to show a scalar. */
const SCHEMA: Record<string, Record<number, string>> = {
  Request: { 1: 'ResourceSpans' },
  ResourceSpans: { 1: 'Resource', 2: 'ScopeSpans', 3: 'str' },
  Resource: { 1: 'KeyValue', 2: 'int' },
  ScopeSpans: { 1: 'Scope', 2: 'Span', 3: 'str' },
  Scope: { 1: 'str', 2: 'str', 3: 'KeyValue', 4: 'int' },
  KeyValue: { 1: 'str', 2: 'AnyValue' },
  AnyValue: { 1: 'str', 2: 'int', 3: 'int', 4: 'int', 5: 'Array', 6: 'KvList', 7: 'hex' },
  Array: { 1: 'AnyValue' },
  KvList: { 1: 'KeyValue' },
  Span: {
    ...{ 1: 'hex', 2: 'hex', 3: 'str', 4: 'hex', 5: 'str', 6: 'int', 7: 'int', 8: 'int', 9: 'KeyValue' },
    ...{ 10: 'int', 11: 'Event', 12: 'int', 13: 'Link', 14: 'int', 15: 'Status', 16: 'int' },
  },
  Event: { 1: 'int', 2: 'str', 3: 'KeyValue', 4: 'int' },
  Link: { 1: 'hex', 2: 'hex', 3: 'str', 4: 'KeyValue', 5: 'int', 6: 'int' },
  Status: { 2: 'str', 3: 'int' },
};

function decode(buf: Buffer, type: string): [number, unknown][] {
  const out: [number, unknown][] = [];
  let pos = 0;
  const varint = () => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = buf[pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const [no, wire] = [key >>> 3, key & 7];
    const kind = SCHEMA[type]![no];
    expect(kind, `${type} field ${no}`).toBeDefined();
    let v: unknown;
    if (wire === 0) v = varint().toString();
    else if (wire === 1) [v, pos] = [buf.readBigUInt64LE(pos).toString(), pos + 8];
    else if (wire === 5) [v, pos] = [String(buf.readUInt32LE(pos)), pos + 4];
    else {
      const len = Number(varint());
      const body = buf.subarray(pos, (pos += len));
      v = SCHEMA[kind!] ? decode(body, kind!) : body.toString(kind === 'str' ? 'utf8' : 'hex');
    }
    // proto3: a zero number and an empty Status are the defaults, written or not.
    if ((v === '0' && type !== 'AnyValue') || (type === 'Span' && no === 15 && !(v as []).length)) continue;
    out.push([no, v]);
  }
  return out;
}

describe('OTLP protobuf encoding', () => {
  it('matches the SDK encoder on every kind of span content', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'hookline-test', n: 5, list: ['a', 'b'] }),
      spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
      idGenerator: new PooledIdGenerator(),
    });
    const tracer = provider.getTracer('hookline', '1.2.3');
    const remote = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: 1,
      isRemote: true,
    });
    for (let i = 0; i < 60; i++) {
      const s = tracer.startSpan(
        'hookline.deliver',
        {
          kind: i % 3 === 0 ? SpanKind.INTERNAL : SpanKind.CLIENT,
          attributes: {
            'hookline.event.id': `evt_${i}`,
            int: i * 1_000_003,
            negative: -5,
            big: 2 ** 40 + i,
            huge: 2 ** 60,
            hugeNegative: -(2 ** 60),
            double: i + 0.5,
            bool: i % 2 === 0,
            long: 'x'.repeat(100 + i * 3),
            unicode: 'héllo ✓ 😀',
            ints: [1, 2, 3],
            strings: ['a', 'ü'],
          },
          links:
            i % 4 === 0
              ? [
                  {
                    context: { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceFlags: 0 },
                    attributes: { k: 'v' },
                  },
                ]
              : [],
        },
        i % 2 ? remote : ROOT_CONTEXT,
      );
      s.addEvent('hookline.retry', { 'hookline.retry.delay_ms': 1000 + i });
      if (i % 5 === 0) {
        s.recordException(new Error('bad ünicode'));
        s.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
      } else if (i % 7 === 0) s.setStatus({ code: SpanStatusCode.OK });
      s.end();
      provider.getTracer('other').startSpan('other', {}, remote).end();
    }
    await provider.forceFlush();
    const spans = memory.getFinishedSpans();
    expect(spans).toHaveLength(120);

    const ours = decode(Buffer.from(encodeSpans(spans)), 'Request');
    const sdk = decode(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!), 'Request');
    expect(ours).toEqual(sdk);
    expect(JSON.stringify(ours)).toContain('"hookline.event.id"');
    await provider.shutdown();
  });
});
