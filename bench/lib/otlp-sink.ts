// A stand-in OTLP/HTTP trace collector for the bench, on 127.0.0.1:0 in the orchestrator: it
// answers every export 200 at once and counts requests, bytes, and the `hookline.deliver` spans
// in them without decoding (a protobuf Span's name field is tag 0x2a, length 16, then the name),
// so it costs the measured Hookline nothing and the orchestrator little.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const DELIVER_NAME = Buffer.concat([Buffer.from([0x2a, 16]), Buffer.from('hookline.deliver')]);

export interface OtlpSink {
  url: string;
  counts(): { requests: number; bytes: number; deliverSpans: number };
  close(): Promise<void>;
}

export async function startOtlpSink(): Promise<OtlpSink> {
  let requests = 0;
  let bytes = 0;
  let deliverSpans = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests++;
      bytes += body.length;
      for (let i = body.indexOf(DELIVER_NAME); i !== -1; i = body.indexOf(DELIVER_NAME, i + 1))
        deliverSpans++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts: () => ({ requests, bytes, deliverSpans }),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
