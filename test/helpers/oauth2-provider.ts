// Shared pieces of the OAuth2 token provider tests: a stored subscription that gets its tokens
// from a test token server, and a per-test Redis key prefix with what the test opened under it.
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach } from 'vitest';
import type { Subscription } from '../../src/domain/subscription.js';
import { createRedis, keyspace, type Keys, type Redis } from '../../src/redis/client.js';
import { oauth2Settings, startTokenServer, type OAuth2Settings, type TokenServer } from './token-server.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A stored subscription authenticated by OAuth2 against `server`; `oauth2` and `over` replace fields. */
export function oauth2Subscription(
  server: TokenServer,
  oauth2: Partial<OAuth2Settings> = {},
  over: Partial<Subscription> = {},
): Subscription {
  return {
    id: 'sub_1',
    tenantId: 't_1',
    webhookUrl: 'https://hooks.example.com/in',
    events: ['*'],
    channels: [],
    senders: [],
    reportType: 'all',
    format: 'native',
    method: 'POST',
    encoding: 'json',
    authType: 'oauth2',
    oauth2: oauth2Settings(server, oauth2),
    timeoutMs: 10_000,
    maxRetries: 10,
    status: 'active',
    signingSecrets: [],
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    authVersion: 1,
    ...over,
  };
}

export interface ProviderScope {
  keys: Keys;
  /** The first connection, opened with the scope. */
  redis: Redis;
  /** Another connection (each stands for one worker process). */
  connect(): Redis;
  /** Starts a token server that `close` stops. */
  tokenServer(...args: Parameters<typeof startTokenServer>): Promise<TokenServer>;
  /** Deletes the prefix's keys, then closes the connections and token servers. */
  close(): Promise<void>;
}

/** Opens a scope before each test (handing it to `set`) and closes it after; the functions act on the current one. */
export function useProviderScope(set: (scope: ProviderScope) => void) {
  let current: ProviderScope | undefined;
  beforeEach(() => {
    current = openProviderScope();
    set(current);
  });
  afterEach(() => current?.close());
  return {
    connect: () => current!.connect(),
    tokenServer: (...args: Parameters<typeof startTokenServer>) => current!.tokenServer(...args),
  };
}

/** Opens a random `{hl-test-…}` key prefix on the real Redis with one connection to it. */
function openProviderScope(): ProviderScope {
  const prefix = `{hl-test-${randomBytes(6).toString('hex')}}`;
  const connections: Redis[] = [];
  const servers: TokenServer[] = [];
  const connect = (): Redis => {
    const conn = createRedis(REDIS_URL, 'worker');
    connections.push(conn);
    return conn;
  };
  const redis = connect();
  return {
    keys: keyspace(prefix),
    redis,
    connect,
    async tokenServer(...args) {
      const server = await startTokenServer(...args);
      servers.push(server);
      return server;
    },
    async close() {
      const found = await redis.keys(`${prefix}:*`);
      if (found.length) await redis.del(...found);
      await Promise.all(connections.map((c) => c.quit()));
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
