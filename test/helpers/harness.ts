// Runs a real Hookline (API + workers) in-process against the real Redis, under a random key
// prefix that is deleted afterwards. Tests talk to it with app.inject or over loopback.
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { SCOPES } from '../../src/api/plugins/auth.js';
import { testConfig, type Config } from '../../src/config.js';
import { createHookline, type Hookline, type StartOptions } from '../../src/hookline.js';
import type { HooklineEvent } from '../../src/domain/event.js';
import { deliveryId } from '../../src/domain/ids.js';
import { keyspace, type Keys } from '../../src/redis/client.js';
import { execAll } from '../../src/store/delivery-store.js';
import { startReceiver, type Receiver } from './receiver.js';

export const ADMIN = { authorization: 'Bearer dev-admin-token' };

export interface Harness {
  hookline: Hookline;
  config: Config;
  /** Sends a request through Fastify's inject; JSON bodies are encoded, answers parsed. */
  request<T = Record<string, unknown>>(opts: {
    method: string;
    url: string;
    body?: unknown;
    headers?: Record<string, string>;
  }): Promise<{ status: number; body: T; headers: Record<string, unknown>; raw: string }>;
  /** Waits until `fn` returns a truthy value (polling; for state that has no event to await). */
  until<T>(
    fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
    timeoutMs?: number,
  ): Promise<T>;
  close(): Promise<void>;
}

export async function startHarness(
  overrides: Parameters<typeof testConfig>[0] = {},
  opts: StartOptions = {},
): Promise<Harness> {
  const config = testConfig({ RETRY_BASE_MS: '50', RETRY_MAX_DELAY_MS: '2000', ...overrides });
  const hookline = await createHookline(config, opts);
  const app = hookline.app;
  return {
    hookline,
    config,
    async request({ method, url, body, headers }) {
      if (!app) throw new Error('no API in this harness');
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: {
          ...ADMIN,
          ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      let parsed: unknown;
      try {
        parsed = res.body ? JSON.parse(res.body) : undefined;
      } catch {
        parsed = res.body;
      }
      return { status: res.statusCode, body: parsed as never, headers: res.headers, raw: res.body };
    },
    async until(fn, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > deadline) throw new Error('condition not met in time');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await hookline.close();
      await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
    },
  };
}

/** Starts a harness and a receiver before all tests of the file (handing both to `set`) and closes them after. */
export function withHarnessAndReceiver(set: (started: { h: Harness; rx: Receiver }) => void): void {
  let h: Harness | undefined;
  let rx: Receiver | undefined;
  beforeAll(async () => {
    h = await startHarness();
    rx = await startReceiver();
    set({ h, rx });
  });
  afterAll(async () => {
    await h?.close();
    await rx?.close();
  });
}

/** Authorization headers of a new API client of `tenantId` holding `scopes` (every scope by default). */
export async function tenantAuth(
  h: Harness,
  tenantId: string,
  scopes: readonly string[] = SCOPES,
): Promise<Record<string, string>> {
  const client = await h.request<{ clientId: string; clientSecret: string }>({
    method: 'POST',
    url: '/v1/clients',
    body: { tenantId, name: tenantId, scopes: [...scopes] },
  });
  const token = await h.request<{ access_token: string }>({
    method: 'POST',
    url: '/v1/auth/token',
    body: { client_id: client.body.clientId, client_secret: client.body.clientSecret },
  });
  return { authorization: `Bearer ${token.body.access_token}` };
}

/** Every key under a prefix, a page at a time (SCAN, never KEYS). */
export async function* scanKeys(r: Redis, prefix: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(
      cursor,
      'MATCH',
      `${prefix.replace(/[[\]*?]/g, '\\$&')}*`,
      'COUNT',
      1000,
    );
    cursor = next;
    if (keys.length) yield keys;
  } while (cursor !== '0');
}

/** Deletes every key under a prefix. */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const r = new Redis(url);
  try {
    for await (const keys of scanKeys(r, prefix)) await r.unlink(...keys);
  } finally {
    r.disconnect();
  }
}

/**
 * A file's own key prefix on the real Redis, with a connection and its keyspace: its keys are
 * deleted and the connection closed after the file's tests (for tests of one store or script,
 * without a whole Hookline).
 */
export function useRedisPrefix(): { config: Config; redis: Redis; keys: Keys } {
  const config = testConfig();
  const redis = new Redis(config.REDIS_URL);
  afterAll(async () => {
    await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
    redis.disconnect();
  });
  return { config, redis, keys: keyspace(config.REDIS_PREFIX) };
}

/** Writes the event and a pending delivery record for it as a fan-out does, with no job; returns its id. */
export async function addPendingDelivery(
  h: Harness,
  event: HooklineEvent,
  subscriptionId: string,
): Promise<string> {
  const { redis, deliveries } = h.hookline.ctx;
  const id = deliveryId(event.tenantId, event.id, subscriptionId);
  const pipe = redis.pipeline();
  deliveries.addPending(
    pipe,
    [{ event, deliveries: [{ id, eventId: event.id, subscriptionId, tenantId: event.tenantId }] }],
    Date.now(),
  );
  await execAll(pipe);
  return id;
}
