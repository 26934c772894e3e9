// A real HTTP receiver on 127.0.0.1:0 that records every request and answers as told.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer (to test timeouts). */
  hang?: boolean;
}

export type Responder = (req: Received, n: number) => Reply | Promise<Reply>;

export interface Receiver {
  url: string;
  port: number;
  requests: Received[];
  /** Resolves once `count` requests (matching `filter`) have arrived. */
  waitFor(
    count: number,
    opts?: { timeoutMs?: number; filter?: (r: Received) => boolean },
  ): Promise<Received[]>;
  respond(fn: Responder): void;
  close(): Promise<void>;
}

export async function startReceiver(
  responder: Responder = () => ({ status: 200 }),
  host = '127.0.0.1',
): Promise<Receiver> {
  const requests: Received[] = [];
  let respond = responder;
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const r: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        path: u.pathname,
        query: u.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      requests.push(r);
      for (const w of waiters) w();
      void Promise.resolve(respond(r, requests.length)).then((reply) => {
        if (reply.hang) return;
        res.writeHead(reply.status ?? 200, reply.headers ?? {});
        res.end(reply.body ?? 'ok');
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    requests,
    respond: (fn) => {
      respond = fn;
    },
    waitFor(count, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? 20_000;
      const pick = () => (opts.filter ? requests.filter(opts.filter) : requests);
      return new Promise((resolve, reject) => {
        const check = () => {
          const got = pick();
          if (got.length >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(got);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`receiver got ${pick().length} of ${count} requests within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
