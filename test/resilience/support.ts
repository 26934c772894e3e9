// Shared steps of the resilience and fault tests: subscribe, publish in batches, read records.
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';

export interface DeliveryView {
  id: string;
  eventId: string;
  subscriptionId: string;
  status: string;
  createdAt: string;
  attempts: {
    n: number;
    startedAt: string;
    statusCode: number | null;
    durationMs: number;
    error: { code: string } | null;
  }[];
  series?: number;
  retryOf?: string;
  redrivenTo?: string;
}

export const uniqueTenant = (name: string) => `t_${name}_${Math.random().toString(36).slice(2, 8)}`;

export async function subscribe(
  h: Harness,
  tenantId: string,
  webhookUrl: string,
  extra: Record<string, unknown> = {},
): Promise<{ id: string }> {
  const res = await h.request<{ id: string }>({
    method: 'POST',
    url: `/v1/subscriptions?tenantId=${tenantId}`,
    body: { webhookUrl, events: ['message.*'], ...extra },
  });
  expect(res.status, res.raw).toBe(201);
  return res.body;
}

export function makeEvents(tenantId: string, n: number, tag = Math.random().toString(36).slice(2, 8)) {
  return Array.from({ length: n }, (_, i) => ({
    id: `evt_${tag}_${i}`,
    tenantId,
    type: 'message.delivered',
    channel: 'sms',
    messageId: `msg_${tag}_${i}`,
  }));
}

/** Publishes through the API, 500 per batch; returns the accepted ids. */
export async function publish(h: Harness, events: { id: string }[]): Promise<string[]> {
  const accepted: string[] = [];
  for (let i = 0; i < events.length; i += 500) {
    const res = await h.request<{ results: { id: string }[] }>({
      method: 'POST',
      url: '/v1/events/batch',
      body: { events: events.slice(i, i + 500) },
    });
    expect(res.status, res.raw).toBe(202);
    accepted.push(...res.body.results.map((r) => r.id));
  }
  return accepted;
}

/** Every delivery of a subscription (admin listing, all pages). */
export async function allDeliveries(h: Harness, subId: string, status?: string): Promise<DeliveryView[]> {
  const out: DeliveryView[] = [];
  let cursor: string | null = null;
  do {
    const q: URLSearchParams = new URLSearchParams({
      limit: '100',
      ...(status ? { status } : {}),
      ...(cursor ? { cursor } : {}),
    });
    const res: { status: number; raw: string; body: { data: DeliveryView[]; nextCursor: string | null } } =
      await h.request({
        method: 'GET',
        url: `/v1/subscriptions/${subId}/deliveries?${q}`,
      });
    expect(res.status, res.raw).toBe(200);
    out.push(...res.body.data);
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

/** Counts requests per webhook-id: how many distinct ids arrived, and how many came twice or more. */
export function tally(ids: Iterable<string>): { distinct: number; total: number; duplicates: number } {
  const seen = new Map<string, number>();
  let total = 0;
  for (const id of ids) {
    seen.set(id, (seen.get(id) ?? 0) + 1);
    total++;
  }
  return { distinct: seen.size, total, duplicates: total - seen.size };
}

/**
 * Two Hookline instances on one Redis prefix (two worker processes, as deployed): the first with
 * the API, the second workers only. Both are pushed on `open` for the caller's cleanup.
 */
export async function startPair(
  open: { close(): Promise<void> }[],
  overrides: Record<string, string> = {},
): Promise<[Harness, Harness]> {
  const a = await startHarness(overrides);
  open.push(a);
  const b = await startHarness({ ...overrides, REDIS_PREFIX: a.config.REDIS_PREFIX }, { api: false });
  open.push(b);
  return [a, b];
}

/** Counts the script calls (EVALSHA/EVAL) sent on a connection until `restore` is called. */
export function countScripts(conn: Redis): { calls: () => number; restore: () => void } {
  let n = 0;
  const send = conn.sendCommand.bind(conn);
  conn.sendCommand = ((cmd: { name: string }, stream?: unknown) => {
    if (cmd.name === 'evalsha' || cmd.name === 'eval') n++;
    return send(cmd as never, stream as never);
  }) as typeof conn.sendCommand;
  return { calls: () => n, restore: () => (conn.sendCommand = send) };
}
