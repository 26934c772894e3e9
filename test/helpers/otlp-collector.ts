// An OTLP/HTTP trace collector stand-in on 127.0.0.1:0: takes what an exporter POSTs to
// /v1/traces, as http/json or as http/protobuf (decoded by the small wire-format reader below),
// and keeps every span in one flat shape.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type AttrValue = string | number | boolean | undefined;

export interface CollectedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  attributes: Record<string, AttrValue>;
  events: { name: string; attributes: Record<string, AttrValue> }[];
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  resource: Record<string, AttrValue>;
}

export interface Collector {
  /** The base URL (OTEL_EXPORTER_OTLP_ENDPOINT). */
  url: string;
  spans: CollectedSpan[];
  /** Content types of the export requests received. */
  contentTypes: string[];
  close(): Promise<void>;
}

export async function startCollector(): Promise<Collector> {
  const spans: CollectedSpan[] = [];
  const contentTypes: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const type = req.headers['content-type'] ?? '';
      contentTypes.push(type);
      const body = Buffer.concat(chunks);
      if (req.url !== '/v1/traces') return void res.writeHead(404).end();
      spans.push(
        ...(type.includes('json') ? fromJson(JSON.parse(body.toString('utf8'))) : fromProtobuf(body)),
      );
      res.writeHead(200, { 'content-type': type }).end(type.includes('json') ? '{}' : '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    contentTypes,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

// --- http/json -------------------------------------------------------------------------------

interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
}
type JsonKv = { key: string; value: JsonAnyValue };

const jsonValue = (v: JsonAnyValue): AttrValue =>
  v.stringValue ?? v.boolValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.doubleValue);
const jsonAttrs = (kvs: JsonKv[] = []) => Object.fromEntries(kvs.map((kv) => [kv.key, jsonValue(kv.value)]));

/** OTLP/JSON ids are hex strings (the spec's exception to proto3 JSON's base64). */
function fromJson(req: {
  resourceSpans?: {
    resource?: { attributes?: JsonKv[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: JsonKv[];
        events?: { name: string; attributes?: JsonKv[] }[];
        status?: { code?: number };
      }[];
    }[];
  }[];
}): CollectedSpan[] {
  return (req.resourceSpans ?? []).flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        name: s.name,
        attributes: jsonAttrs(s.attributes),
        events: (s.events ?? []).map((e) => ({ name: e.name, attributes: jsonAttrs(e.attributes) })),
        statusCode: s.status?.code ?? 0,
        resource: jsonAttrs(rs.resource?.attributes),
      })),
    ),
  );
}

// --- http/protobuf: just enough of the protobuf wire format for opentelemetry/proto/trace ------

type Field = { no: number; wire: number; int: bigint; bytes: Buffer };

/** The fields of one message, in order (varint, fixed64, length-delimited, fixed32). */
function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, int: varint(), bytes: Buffer.alloc(0) });
    else if (wire === 1) {
      out.push({ no, wire, int: buf.readBigUInt64LE(pos), bytes: buf.subarray(pos, pos + 8) });
      pos += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      out.push({ no, wire, int: 0n, bytes: buf.subarray(pos, pos + len) });
      pos += len;
    } else if (wire === 5) {
      out.push({ no, wire, int: BigInt(buf.readUInt32LE(pos)), bytes: buf.subarray(pos, pos + 4) });
      pos += 4;
    } else throw new Error(`protobuf wire type ${wire} not expected`);
  }
  return out;
}

const all = (fs: Field[], no: number) => fs.filter((f) => f.no === no);
const one = (fs: Field[], no: number) => fs.find((f) => f.no === no);
const text = (f?: Field) => f?.bytes.toString('utf8') ?? '';
const hex = (f?: Field) => f?.bytes.toString('hex') ?? '';

/** AnyValue: 1 string, 2 bool, 3 int64, 4 double. */
function anyValue(buf: Buffer): AttrValue {
  const f = fields(buf)[0];
  if (!f) return undefined;
  if (f.no === 1) return text(f);
  if (f.no === 2) return f.int !== 0n;
  if (f.no === 3) return Number(BigInt.asIntN(64, f.int));
  if (f.no === 4) return f.bytes.readDoubleLE(0);
  return undefined;
}

/** KeyValue: 1 key, 2 value. */
const pbAttrs = (kvs: Field[]) =>
  Object.fromEntries(
    kvs.map((kv) => {
      const fs = fields(kv.bytes);
      const v = one(fs, 2);
      return [text(one(fs, 1)), v ? anyValue(v.bytes) : undefined];
    }),
  );

/**
 * ExportTraceServiceRequest 1: ResourceSpans {1: Resource {1: attributes}, 2: ScopeSpans {2: Span}};
 * Span {1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 9 attributes, 11 events {2 name,
 * 3 attributes}, 15 status {3 code}}.
 */
function fromProtobuf(body: Buffer): CollectedSpan[] {
  return all(fields(body), 1).flatMap((rsf) => {
    const rs = fields(rsf.bytes);
    const resourceField = one(rs, 1);
    const resource = resourceField ? pbAttrs(all(fields(resourceField.bytes), 1)) : {};
    return all(rs, 2).flatMap((ssf) =>
      all(fields(ssf.bytes), 2).map((spf) => {
        const s = fields(spf.bytes);
        const status = one(s, 15);
        return {
          traceId: hex(one(s, 1)),
          spanId: hex(one(s, 2)),
          parentSpanId: hex(one(s, 4)),
          name: text(one(s, 5)),
          attributes: pbAttrs(all(s, 9)),
          events: all(s, 11).map((ef) => {
            const e = fields(ef.bytes);
            return { name: text(one(e, 2)), attributes: pbAttrs(all(e, 3)) };
          }),
          statusCode: status ? Number(one(fields(status.bytes), 3)?.int ?? 0n) : 0,
          resource,
        };
      }),
    );
  });
}
