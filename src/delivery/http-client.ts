// One shared undici Agent per process: bounded sockets per origin, keep-alive, timeouts,
// no redirects (undici 7 follows none unless told). The SSRF guard plugs in as `connect`.
import { Agent } from 'undici';

export interface HttpClientOptions {
  connectionsPerOrigin: number;
  /** undici `connect` option: the SSRF-checking connector in production. */
  connect?: Agent.Options['connect'];
}

export function createAgent(opts: HttpClientOptions): Agent {
  return new Agent({
    connections: opts.connectionsPerOrigin,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
    connect: opts.connect ?? { timeout: 10_000 },
  });
}

export const RESPONSE_BODY_CAP = 4096;
