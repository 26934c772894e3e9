// Talks to the Hookline under test over real HTTP, as internal producers and admins do:
// creates subscriptions and publishes event batches, optionally paced and windowed.
import { Pool } from 'undici';
import { now, sleep } from './clock.js';
import type { ReceiverClient } from './receiver-client.js';

const ADMIN = 'Bearer dev-admin-token';
export const MAX_BATCH = 500;

export interface BenchEvent {
  tenantId: string;
  type: 'message.delivered';
  channel: 'sms';
  messageId: string;
  sender: string;
  recipient: string;
  /** t: publish-request start (ms, bench clock), read back by the receiver for latency. */
  data: { t: number };
}

export function benchEvent(i: number, tenants: number, t: number): BenchEvent {
  return {
    tenantId: `bench-t${i % tenants}`,
    type: 'message.delivered',
    channel: 'sms',
    messageId: `msg-${i}`,
    sender: 'HOOKLINE',
    recipient: '9647700000000',
    data: { t },
  };
}

export class HooklineApi {
  private readonly pool: Pool;

  constructor(readonly origin: string) {
    this.pool = new Pool(origin, { connections: 8, pipelining: 1 });
  }

  private async call(method: 'POST' | 'GET', path: string, body?: unknown): Promise<unknown> {
    const res = await this.pool.request({
      method,
      path,
      headers: { authorization: ADMIN, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300)
      throw new Error(`${method} ${path} → ${res.statusCode}: ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
  }

  async createSubscription(tenantId: string, webhookUrl: string): Promise<string> {
    const res = (await this.call('POST', `/v1/subscriptions?tenantId=${encodeURIComponent(tenantId)}`, {
      webhookUrl,
      events: ['message.*'],
    })) as { id: string };
    return res.id;
  }

  /** Creates subscriptions with a few requests in flight; returns their ids in order. */
  async createSubscriptions(items: { tenantId: string; url: string }[], inflight = 8): Promise<string[]> {
    const ids: string[] = new Array<string>(items.length);
    let next = 0;
    const loop = async () => {
      while (next < items.length) {
        const i = next++;
        ids[i] = await this.createSubscription(items[i]!.tenantId, items[i]!.url);
      }
    };
    await Promise.all(Array.from({ length: Math.min(inflight, items.length) }, loop));
    return ids;
  }

  /** GET with the admin token; the parsed JSON body. */
  get<T>(path: string): Promise<T> {
    return this.call('GET', path) as Promise<T>;
  }

  async publishBatch(events: object[]): Promise<number> {
    const res = (await this.call('POST', '/v1/events/batch', { events })) as {
      results: { duplicate: boolean }[];
    };
    return res.results.filter((r) => !r.duplicate).length;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export interface StreamOptions {
  total: number;
  tenants: number;
  batch?: number;
  /** Publish requests in flight at once. */
  inflight?: number;
  /** Most events published but not yet `done` (keeps Redis bounded on long runs). */
  window?: number;
  /** How many of this stream's events are done (received, or settled); needed with a window. */
  progress?: () => Promise<number>;
  deadline: number;
  /** The i-th event (default: benchEvent) published at t. */
  event?: (i: number, t: number) => object;
}

export interface StreamResult {
  accepted: number;
  startedAt: number;
  publishedAt: number;
}

/** Receiver-counted progress: arrivals since the receiver was last reset. */
export const received = (receiver: ReceiverClient) => async () => (await receiver.stats()).count;

/**
 * Sends items `from`…`from + n - 1` in batches of `batch` from `inflight` loops, as fast as the
 * window allows (at most `window` sent and not yet done, by `progress`), until all are sent or the
 * deadline. Hookline's publish stream and the bare worker's end-to-end feed both run on it.
 */
export async function sendWindowed(o: {
  total: number;
  batch: number;
  inflight: number;
  window: number;
  progress?: () => Promise<number>;
  deadline: number;
  send: (from: number, n: number) => Promise<void>;
}): Promise<void> {
  const window = o.progress ? o.window : Infinity;
  let next = 0;
  let done = 0;
  const loop = async () => {
    while (next < o.total && now() < o.deadline) {
      while (next - done >= window && now() < o.deadline) {
        done = await o.progress!();
        if (next - done >= window) await sleep(20);
      }
      // The other loops may have taken the last items while this one waited.
      if (now() >= o.deadline || next >= o.total) break;
      const from = next;
      const n = Math.min(o.batch, o.total - from);
      next += n;
      await o.send(from, n);
    }
  };
  await Promise.all(Array.from({ length: o.inflight }, loop));
}

/** Publishes `total` events in batches as fast as the window allows, until done or the deadline. */
export async function publishStream(api: HooklineApi, o: StreamOptions): Promise<StreamResult> {
  let accepted = 0;
  const startedAt = now();
  const make = o.event ?? ((i: number, at: number) => benchEvent(i, o.tenants, at));
  await sendWindowed({
    total: o.total,
    batch: o.batch ?? MAX_BATCH,
    inflight: o.inflight ?? 2,
    window: o.window ?? Infinity,
    progress: o.progress,
    deadline: o.deadline,
    send: async (from, n) => {
      const t = now();
      const fresh = await api.publishBatch(Array.from({ length: n }, (_, k) => make(from + k, t)));
      accepted += fresh; // not `accepted += await …`: loops interleave
    },
  });
  return { accepted, startedAt, publishedAt: now() };
}

/** Publishes at a fixed rate (events/s) for durationMs, in small batches on a steady clock. */
export async function publishAtRate(
  api: HooklineApi,
  o: { rate: number; durationMs: number; tickMs: number; tenants: number },
): Promise<{ accepted: number; sent: number; lateTicks: number }> {
  const start = now();
  let sent = 0;
  let accepted = 0;
  let lateTicks = 0;
  const inflight = new Set<Promise<void>>();
  for (let tick = 0; ; tick++) {
    const dueAt = start + tick * o.tickMs;
    if (dueAt - start >= o.durationMs) break;
    const wait = dueAt - now();
    if (wait > 0) await sleep(wait);
    else if (wait < -o.tickMs) lateTicks++;
    const target = Math.round(((now() - start) / 1000) * o.rate);
    const n = Math.min(MAX_BATCH, target - sent);
    if (n <= 0) continue;
    const from = sent;
    sent += n;
    const t = now();
    const p = api
      .publishBatch(Array.from({ length: n }, (_, k) => benchEvent(from + k, o.tenants, t)))
      .then((a) => {
        accepted += a;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  return { accepted, sent, lateTicks };
}
