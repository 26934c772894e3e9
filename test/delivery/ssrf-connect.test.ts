import type { LookupAddress } from 'node:dns';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkUrl,
  createSsrfPolicy,
  createSsrfSafeConnect,
  isSsrfBlockedError,
  SsrfBlockedError,
  systemLookup,
  type SsrfLookup,
} from '../../src/delivery/ssrf.js';
import { DeliveryError } from '../../src/delivery/errors.js';

// Real sockets, loopback only: 127.0.0.1 is allowlisted, 127.0.0.2 and ::1 stand in for
// internal targets. Blocked targets must never see a connection.

interface Listener {
  port: number;
  connections: number;
  close(): Promise<void>;
}

async function listen(server: net.Server, host: string): Promise<Listener> {
  const listener = {
    port: 0,
    connections: 0,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  server.on('connection', () => listener.connections++);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  listener.port = (server.address() as net.AddressInfo).port;
  return listener;
}
const httpServer = (host: string) =>
  listen(
    http.createServer((_req, res) => res.end(`hello from ${host}`)),
    host,
  );
// Stands in for a TLS endpoint: counts the connection, then hangs up the handshake.
const tcpServer = (host: string) =>
  listen(
    net.createServer((socket) => socket.destroy()),
    host,
  );

const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });
const ZONE: Record<string, LookupAddress[]> = {
  'good.test': [v4('127.0.0.1')],
  'rebind.test': [v4('127.0.0.2')],
  'six.test': [v6('::1')],
  'dual.test': [v4('127.0.0.1'), v6('::1')],
};
const lookup: SsrfLookup = async (host) => {
  const found = ZONE[host];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found;
};

const allow127001 = createSsrfPolicy({ allowedCidrs: ['127.0.0.1/32'] });

async function get(url: string, dispatcher: Agent): Promise<string> {
  const res = await request(url, { dispatcher });
  return res.body.text();
}

async function refusal(promise: Promise<unknown>): Promise<SsrfBlockedError> {
  const err: unknown = await promise.then(
    () => new Error('expected the request to be refused'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SsrfBlockedError);
  return err as SsrfBlockedError;
}

let allowed: Listener;
let internal: Listener;
let internal6: Listener;
let tlsAllowed: Listener;
let tlsInternal: Listener;

beforeAll(async () => {
  [allowed, internal, internal6, tlsAllowed, tlsInternal] = await Promise.all([
    httpServer('127.0.0.1'),
    httpServer('127.0.0.2'),
    httpServer('::1'),
    tcpServer('127.0.0.1'),
    tcpServer('127.0.0.2'),
  ]);
});
afterAll(async () => {
  await Promise.all([allowed, internal, internal6, tlsAllowed, tlsInternal].map((l) => l?.close()));
});

describe.each([true, false])(
  'undici Agent with the SSRF-safe connector (autoSelectFamily %s)',
  (autoSelectFamily) => {
    let agent: Agent;
    beforeAll(() => {
      agent = new Agent({
        connect: createSsrfSafeConnect(allow127001, { lookup, connector: { autoSelectFamily } }),
      });
    });
    afterAll(() => agent.close());

    it('reaches an allowlisted address, by literal and by name', async () => {
      await expect(get(`http://127.0.0.1:${allowed.port}/`, agent)).resolves.toBe('hello from 127.0.0.1');
      await expect(get(`http://good.test:${allowed.port}/`, agent)).resolves.toBe('hello from 127.0.0.1');
    });

    it('refuses a name that resolves to a blocked address, before connecting', async () => {
      const before = internal.connections;
      const err = await refusal(get(`http://rebind.test:${internal.port}/`, agent));
      expect(err).toMatchObject({
        code: 'ssrf_blocked',
        host: 'rebind.test',
        address: '127.0.0.2',
        reason: 'loopback',
      });
      expect(internal.connections).toBe(before);
    });

    it.each(['127.0.0.2', '0x7f000002', '127.2', '[::ffff:127.0.0.2]'])(
      'refuses the literal %s before connecting',
      async (host) => {
        const before = internal.connections;
        await refusal(get(`http://${host}:${internal.port}/`, agent));
        expect(internal.connections).toBe(before);
      },
    );

    it('refuses IPv6 loopback, by literal and by name', async () => {
      await refusal(get(`http://[::1]:${internal6.port}/`, agent));
      await refusal(get(`http://six.test:${internal6.port}/`, agent));
      expect(internal6.connections).toBe(0);
    });

    it('refuses a name with one blocked address even if another is allowed', async () => {
      const before = allowed.connections;
      const err = await refusal(get(`http://dual.test:${allowed.port}/`, agent));
      expect(err.address).toBe('::1');
      expect(allowed.connections).toBe(before);
    });

    it('guards https the same way', async () => {
      await refusal(get(`https://rebind.test:${tlsInternal.port}/`, agent));
      await refusal(get(`https://127.0.0.2:${tlsInternal.port}/`, agent));
      expect(tlsInternal.connections).toBe(0);

      // The allowed target is dialled (our resolver was used: .test is not in real DNS); the
      // handshake then fails, which is a connection error, not an SSRF verdict.
      const before = tlsAllowed.connections;
      const err: unknown = await get(`https://good.test:${tlsAllowed.port}/`, agent).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(isSsrfBlockedError(err)).toBe(false);
      expect(tlsAllowed.connections).toBe(before + 1);
    });
  },
);

describe('DNS rebinding between save and delivery', () => {
  it('passes the save-time check, then is refused at connect time', async () => {
    // First answer (at save) is allowed, every later one points inside.
    let calls = 0;
    const flip: SsrfLookup = async () => (calls++ === 0 ? [v4('127.0.0.1')] : [v4('127.0.0.2')]);
    const url = `http://flip.test:${internal.port}/`;
    await expect(checkUrl(url, allow127001, { lookup: flip })).resolves.toEqual({ ok: true });

    const agent = new Agent({ connect: createSsrfSafeConnect(allow127001, { lookup: flip }) });
    try {
      const before = internal.connections;
      const err = await refusal(get(url, agent));
      expect(err.address).toBe('127.0.0.2');
      expect(internal.connections).toBe(before);
    } finally {
      await agent.close();
    }
  });
});

describe('IPv6 allowlisted', () => {
  it('reaches ::1 by literal and by name when ::1/128 is allowed', async () => {
    const policy = createSsrfPolicy({ allowedCidrs: ['::1/128'] });
    const agent = new Agent({ connect: createSsrfSafeConnect(policy, { lookup }) });
    try {
      await expect(get(`http://[::1]:${internal6.port}/`, agent)).resolves.toBe('hello from ::1');
      await expect(get(`http://six.test:${internal6.port}/`, agent)).resolves.toBe('hello from ::1');
      await refusal(get(`http://127.0.0.1:${allowed.port}/`, agent));
    } finally {
      await agent.close();
    }
  });
});

describe('the refusal error', () => {
  it('is a non-retryable DeliveryError, also found through fetch() wrapping', async () => {
    const agent = new Agent({ connect: createSsrfSafeConnect(allow127001, { lookup }) });
    try {
      const err = await refusal(get(`http://rebind.test:${internal.port}/`, agent));
      expect(err).toBeInstanceOf(DeliveryError);
      expect(err.retryable).toBe(false);
      expect(err.message).toBe('rebind.test (127.0.0.2) is not an allowed destination: loopback');

      const wrapped: unknown = await fetch(`http://rebind.test:${internal.port}/`, {
        dispatcher: agent,
      }).catch((e: unknown) => e);
      expect(wrapped).not.toBeInstanceOf(SsrfBlockedError);
      expect(isSsrfBlockedError(wrapped)).toBe(true);
    } finally {
      await agent.close();
    }
  });

  it('lets DNS failures through as ordinary (retryable) connection errors', async () => {
    const agent = new Agent({ connect: createSsrfSafeConnect(allow127001, { lookup }) });
    try {
      const err: unknown = await get(`http://nx.test:${allowed.port}/`, agent).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ENOTFOUND' });
      expect(isSsrfBlockedError(err)).toBe(false);
    } finally {
      await agent.close();
    }
  });
});

describe('a peer without an address', () => {
  // A connector given a socketPath dials that Unix socket whatever the host: the peer has no IP
  // address to judge, so the guard refuses the connection rather than let it through.
  it('is refused and its socket closed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hookline-ssrf-'));
    const socketPath = join(dir, 'peer.sock');
    const server = http.createServer((_req, res) => res.end('must not be reached'));
    const closed = new Promise<void>((resolve) => {
      server.on('connection', (socket) => socket.on('close', () => resolve()));
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    const agent = new Agent({
      connect: createSsrfSafeConnect(allow127001, { lookup, connector: { socketPath } }),
    });
    try {
      const err: unknown = await get('http://good.test/', agent).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toBe('socket to good.test closed while connecting');
      expect(isSsrfBlockedError(err)).toBe(false);
      await closed;
    } finally {
      await agent.close();
      await new Promise((resolve) => server.close(resolve));
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('systemLookup', () => {
  it('asks the system resolver for every address of a name', async () => {
    const all = await systemLookup('localhost');
    expect(all.length).toBeGreaterThan(0);
    for (const a of all) expect(['127.0.0.1', '::1']).toContain(a.address);
  });
});
