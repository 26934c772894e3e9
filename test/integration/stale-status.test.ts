// Stale-status suppression (SPEC §8, §9): once a later status of a message was delivered to a
// destination, an earlier one still waiting there is not sent; it ends `superseded`, pointing at
// the delivery that superseded it, without an attempt. Real Hookline, Redis and receiver.
import { describe, expect, it } from 'vitest';
import { withHarnessAndReceiver, type Harness } from '../helpers/harness.js';
import type { Received, Receiver } from '../helpers/receiver.js';
import { parseProm, sampleSum } from '../ops/prom-text.js';
import { allDeliveries, subscribe, uniqueTenant, type DeliveryView } from '../resilience/support.js';

let h: Harness;
let rx: Receiver;
withHarnessAndReceiver((started) => {
  ({ h, rx } = started);
  // Every path fails a `sent` (native data.status, otpiq status) unless its path says otherwise;
  // later statuses succeed. A receiver that still cannot take `sent` while `delivered` works.
  rx.respond((r) =>
    statusIn(r) === 'sent' && !r.path.endsWith('/heal') ? { status: 500 } : { status: 200 },
  );
});

function statusIn(r: Received): string | undefined {
  const body = JSON.parse(r.body || '{}') as { status?: string; data?: { status?: string } };
  return body.data?.status ?? body.status;
}

const tag = () => Math.random().toString(36).slice(2, 8);

function message(tenantId: string, messageId: string, type: string, extra: Record<string, unknown> = {}) {
  return {
    id: `evt_${type.split('.')[1]}_${messageId}`,
    tenantId,
    type,
    channel: 'sms',
    messageId,
    ...(type === 'message.failed' ? { error: { code: 'E1', title: 'failed' } } : {}),
    ...extra,
  };
}

/** Each published event's tenant: event ids are per tenant, so an admin read names it. */
const tenantOf = new Map<string, string>();

async function publish(event: Record<string, unknown>): Promise<string> {
  const res = await h.request<{ id: string }>({ method: 'POST', url: '/v1/events', body: event });
  expect(res.status, res.raw).toBe(202);
  tenantOf.set(res.body.id, event.tenantId as string);
  return res.body.id;
}

interface EventView {
  deliveries: { id: string; subscriptionId: string; target: string; status: string; supersededBy?: string }[];
}

/** The event's one delivery to `subscriptionId` once `ok` holds for it. */
async function deliveryOf(
  eventId: string,
  subscriptionId: string,
  ok: (d: EventView['deliveries'][number]) => boolean = () => true,
) {
  return h.until(async () => {
    const res = await h.request<EventView>({
      method: 'GET',
      url: `/v1/events/${eventId}?tenantId=${tenantOf.get(eventId)}`,
    });
    return res.body.deliveries?.find((d) => d.subscriptionId === subscriptionId && ok(d));
  });
}

type RecordView = DeliveryView & { supersededBy?: string; updatedAt: string; nextAttemptAt: string | null };

async function record(id: string): Promise<RecordView> {
  const res = await h.request<RecordView>({
    method: 'GET',
    url: `/v1/deliveries/${id}`,
  });
  expect(res.status, res.raw).toBe(200);
  return res.body;
}

const sentTo = (path: string) => rx.requests.filter((r) => r.path === path && statusIn(r) === 'sent');

async function supersededCount(): Promise<number> {
  return sampleSum(parseProm(await h.hookline.ctx.metrics.scrape()), 'hookline_deliveries_superseded_total');
}

describe('stale-status suppression', () => {
  it('ends a retrying `sent` superseded once `delivered` succeeded, without another attempt', async () => {
    const tenant = uniqueTenant('stale');
    const path = `/stale-${tag()}`;
    const sub = await subscribe(h, tenant, `${rx.url}${path}`, { maxRetries: 20 });
    const messageId = `m_${tag()}`;
    const counted = await supersededCount();

    const sentEvent = await publish(message(tenant, messageId, 'message.sent'));
    const sent = await deliveryOf(sentEvent, sub.id, (d) => d.status === 'retrying');
    const deliveredEvent = await publish(message(tenant, messageId, 'message.delivered'));
    const delivered = await deliveryOf(deliveredEvent, sub.id, (d) => d.status === 'succeeded');

    const after = await h.until(async () => {
      const r = await record(sent.id);
      return r.status === 'superseded' && r;
    });
    expect(after.supersededBy).toBe(delivered.id);
    // Every attempt on record was a request, and the run that superseded it sent nothing.
    expect(sentTo(path)).toHaveLength(after.attempts.length);
    expect(after.attempts.every((a) => a.statusCode === 500)).toBe(true);
    expect(after.nextAttemptAt).toBeNull();
    expect((await allDeliveries(h, sub.id, 'superseded')).map((d) => d.id)).toEqual([sent.id]);
    expect(await supersededCount()).toBe(counted + 1);

    // Re-driving it while the rule holds creates a delivery superseded at once: nothing is sent.
    const retry = await h.request<RecordView & { retryOf: string }>({
      method: 'POST',
      url: `/v1/deliveries/${sent.id}/retry`,
    });
    expect(retry.status, retry.raw).toBe(202);
    expect(retry.body).toMatchObject({ status: 'superseded', supersededBy: delivered.id, retryOf: sent.id });
    expect(retry.body.attempts).toEqual([]);
    const replay = await h.request<{ queued: number }>({
      method: 'POST',
      url: `/v1/events/${sentEvent}/replay?tenantId=${tenant}`,
    });
    expect(replay.body.queued).toBe(0);
    expect(sentTo(path)).toHaveLength(after.attempts.length);
    expect(await supersededCount()).toBe(counted + 3);
  });

  it('keeps retrying the stale status for a subscription with dropStaleStatuses: false', async () => {
    const tenant = uniqueTenant('keep');
    const path = `/keep-${tag()}`;
    const sub = await subscribe(h, tenant, `${rx.url}${path}`, { maxRetries: 20, dropStaleStatuses: false });
    const read = await h.request<{ dropStaleStatuses: boolean }>({
      method: 'GET',
      url: `/v1/subscriptions/${sub.id}`,
    });
    expect(read.body.dropStaleStatuses).toBe(false);
    const messageId = `m_${tag()}`;

    const sentEvent = await publish(message(tenant, messageId, 'message.sent'));
    const sent = await deliveryOf(sentEvent, sub.id, (d) => d.status === 'retrying');
    const deliveredEvent = await publish(message(tenant, messageId, 'message.delivered'));
    await deliveryOf(deliveredEvent, sub.id, (d) => d.status === 'succeeded');
    const deliveredAt = Date.now();
    // Its next retry still goes out, and still fails.
    await rx.waitFor(1, { filter: (r) => r.path === path && statusIn(r) === 'sent' && r.at > deliveredAt });
    const r = await record(sent.id);
    expect(r.status).not.toBe('superseded');
    expect(r.supersededBy).toBeUndefined();
    // A `sent` published after `delivered` is attempted too (and fails, as this receiver does).
    const late = await publish(message(tenant, messageId, 'message.sent', { id: `evt_late_${messageId}` }));
    await deliveryOf(late, sub.id, (d) => d.status === 'retrying');
  });

  it('applies to an event’s own deliveryReport destination', async () => {
    const tenant = uniqueTenant('report');
    const url = `${rx.url}/report-${tag()}`;
    const messageId = `m_${tag()}`;
    const report = { deliveryReport: { webhookUrl: url } };

    const sentEvent = await publish(message(tenant, messageId, 'message.sent', report));
    const sent = await deliveryOf(sentEvent, 'report', (d) => d.status === 'retrying');
    expect(sent.target).toBe('deliveryReport');
    const deliveredEvent = await publish(message(tenant, messageId, 'message.delivered', report));
    const delivered = await deliveryOf(deliveredEvent, 'report', (d) => d.status === 'succeeded');
    const done = await deliveryOf(sentEvent, 'report', (d) => d.status === 'superseded');
    expect(done.supersededBy).toBe(delivered.id);
    expect(sentTo(new URL(url).pathname)).toHaveLength((await record(sent.id)).attempts.length);

    // Another report URL is another destination: its `sent` is not superseded.
    const other = await publish(
      message(tenant, messageId, 'message.sent', {
        id: `evt_other_${messageId}`,
        deliveryReport: { webhookUrl: `${url}/heal` },
      }),
    );
    await deliveryOf(other, 'report', (d) => d.status === 'succeeded');
  });

  it('drops a stale status published late at fan-out, by precedence (failed is final)', async () => {
    const tenant = uniqueTenant('order');
    const path = `/order-${tag()}/heal`;
    const sub = await subscribe(h, tenant, `${rx.url}${path}`);
    const counted = await supersededCount();
    const cases: { first: string; then: string; superseded: boolean }[] = [
      { first: 'message.read', then: 'message.delivered', superseded: true },
      { first: 'message.read', then: 'message.sent', superseded: true },
      { first: 'message.delivered', then: 'message.sent', superseded: true },
      { first: 'message.failed', then: 'message.sent', superseded: true },
      { first: 'message.failed', then: 'message.delivered', superseded: false },
      { first: 'message.read', then: 'message.failed', superseded: false },
      { first: 'message.delivered', then: 'message.delivered', superseded: false },
      { first: 'message.sent', then: 'message.sent', superseded: false },
    ];
    for (const [i, c] of cases.entries()) {
      const messageId = `m_${i}_${tag()}`;
      const first = await publish(message(tenant, messageId, c.first));
      const winner = await deliveryOf(first, sub.id, (d) => d.status === 'succeeded');
      const then = await publish(message(tenant, messageId, c.then, { id: `evt_then_${messageId}` }));
      const d = await deliveryOf(then, sub.id, (x) => x.status === 'succeeded' || x.status === 'superseded');
      expect({ ...c, status: d.status }).toEqual({ ...c, status: c.superseded ? 'superseded' : 'succeeded' });
      if (c.superseded) {
        expect(d.supersededBy).toBe(winner.id);
        expect((await record(d.id)).attempts).toEqual([]);
        expect(rx.requests.some((r) => r.headers['webhook-id'] === then)).toBe(false);
      }
    }
    expect(await supersededCount()).toBe(counted + cases.filter((c) => c.superseded).length);
  });
});
