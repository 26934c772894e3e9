// The webhook receiver every phase delivers to: a bare node:http server on 127.0.0.1 that
// answers 200 at once and counts. It marks the arrival times the phases need (first, 10 %,
// 90 %, last of an expected count) and, when asked, the latency carried in the body.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { now } from './clock.js';

export type ReceiverMode =
  /** count only; bodies are drained, not parsed */
  | 'count'
  /** parse the JSON body and record now − data.t (ms) */
  | 'latency'
  /** count distinct request paths too (fan-out: one path per subscription) */
  | 'distinct';

export interface ReceiverReset {
  mode?: ReceiverMode;
  /** Arrival count whose 10 %, 90 % and 100 % marks are timed. */
  expect?: number;
}

export interface ReceiverStats {
  count: number;
  distinct: number;
  bodyBytes: number;
  firstAt: number | null;
  lastAt: number | null;
  /** Arrival times of the 10 % / 90 % / 100 % marks of `expect`. */
  p10At: number | null;
  p90At: number | null;
  doneAt: number | null;
  expect: number;
}

export interface Receiver {
  readonly port: number;
  reset(opts: ReceiverReset): void;
  stats(): ReceiverStats;
  /** Latencies (ms) recorded in `latency` mode since the last reset. */
  latencies(): Latencies;
  close(): Promise<void>;
}

/**
 * Per bench event received: from the start of its publish request (`data.t`, set by the
 * publisher) and from its acceptance (the webhook's `timestamp`: bench events carry no
 * `occurredAt`, so Hookline stamps the time it accepted them, in whole milliseconds).
 */
export interface Latencies {
  fromPublish: number[];
  fromAccepted: number[];
}

export async function startReceiver(port = 0): Promise<Receiver> {
  let mode: ReceiverMode = 'count';
  let expect = 0;
  let s: ReceiverStats;
  let lat: Latencies = { fromPublish: [], fromAccepted: [] };
  let paths = new Set<string>();
  const reset = (o: ReceiverReset = {}) => {
    mode = o.mode ?? 'count';
    expect = o.expect ?? 0;
    lat = { fromPublish: [], fromAccepted: [] };
    paths = new Set();
    s = {
      count: 0,
      distinct: 0,
      bodyBytes: 0,
      firstAt: null,
      lastAt: null,
      p10At: null,
      p90At: null,
      doneAt: null,
      expect,
    };
  };
  reset();
  const p10 = () => Math.max(1, Math.floor(expect * 0.1));
  const p90 = () => Math.max(1, Math.floor(expect * 0.9));

  function arrived(at: number, url: string | undefined) {
    const n = ++s.count;
    s.firstAt ??= at;
    s.lastAt = at;
    if (expect > 0) {
      if (n === p10()) s.p10At = at;
      if (n === p90()) s.p90At = at;
      if (n === expect) s.doneAt = at;
    }
    if (mode === 'distinct' && url !== undefined) {
      paths.add(url);
      s.distinct = paths.size;
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const at = now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      s.bodyBytes += c.length;
      if (mode === 'latency') chunks.push(c);
    });
    req.on('end', () => {
      if (mode === 'latency') {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            timestamp?: unknown;
            data?: { t?: unknown };
          };
          if (typeof body.data?.t === 'number') {
            lat.fromPublish.push(at - body.data.t);
            const accepted = typeof body.timestamp === 'string' ? Date.parse(body.timestamp) : NaN;
            if (Number.isFinite(accepted)) lat.fromAccepted.push(at - accepted);
          }
        } catch {
          // not a bench event: counted, no latency
        }
      }
      arrived(at, req.url);
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    });
  });
  // Deliverers keep sockets open for long; the receiver must not be the one dropping them.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  server.maxRequestsPerSocket = 0;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    reset,
    stats: () => ({ ...s }),
    latencies: () => lat,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port nothing listens on: deliveries to it fail with ECONNREFUSED (receiver down). */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
