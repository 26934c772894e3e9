// Event ids are per tenant: two tenants publishing the same id are two events, each delivered to
// its own subscribers and its own deliveryReport URL, neither told the other's id exists; reads,
// replays and re-publishes by id stay inside the caller's tenant. Events, idempotency claims
// and jobs written by 0.3 (keyed by event id alone) are still delivered and readable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES } from '../../src/api/plugins/auth.js';
import { normalizeEvent, type EventInput, type HooklineEvent } from '../../src/domain/event.js';
import { deliveryJobOptions } from '../../src/pipeline/jobs.js';
import { REPORT_MAX_RETRIES } from '../../src/pipeline/targets.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { sealV1, storeV03Event } from '../helpers/legacy.js';
import { startReceiver, type Received, type Receiver } from '../helpers/receiver.js';
import { expectProblem, uniqueTenant } from './support.js';

let h: Harness;
let rx: Receiver;
const A = uniqueTenant('ids_a');
const B = uniqueTenant('ids_b');
const C = uniqueTenant('ids_c');
const as: Record<string, Record<string, string>> = {};
const subs: Record<string, string> = {};

async function tokenFor(tenantId: string): Promise<Record<string, string>> {
  const client = await h.request<{ clientId: string; clientSecret: string }>({
    method: 'POST',
    url: '/v1/clients',
    body: { tenantId, name: tenantId, scopes: [...SCOPES] },
  });
  const token = await h.request<{ access_token: string }>({
    method: 'POST',
    url: '/v1/auth/token',
    body: { client_id: client.body.clientId, client_secret: client.body.clientSecret },
  });
  return { authorization: `Bearer ${token.body.access_token}` };
}

beforeAll(async () => {
  h = await startHarness();
  rx = await startReceiver();
  for (const t of [A, B, C]) as[t] = await tokenFor(t);
  for (const t of [A, B]) {
    const res = await h.request<{ id: string }>({
      method: 'POST',
      url: '/v1/subscriptions',
      headers: as[t]!,
      body: { webhookUrl: `${rx.url}/${t}`, events: ['*'] },
    });
    expect(res.status, res.raw).toBe(201);
    subs[t] = res.body.id;
  }
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
});

const randomId = (label: string) => `evt_${label}_${Math.random().toString(36).slice(2)}`;

/**
 * An event of `tenant` with a deliveryReport to `/<tenant>-report`, its secret naming the tenant.
 * Its messageId (in every payload format) names the tenant and the event id.
 */
const eventOf = (tenant: string, id: string) => ({
  id,
  tenantId: tenant,
  type: 'message.delivered',
  channel: 'sms',
  messageId: `m-${tenant}-${id}`,
  deliveryReport: { webhookUrl: `${rx.url}/${tenant}-report`, webhookSecret: `secret-of-${tenant}` },
});

const publish = (tenant: string, body: unknown) =>
  h.request<{ id: string; duplicate: boolean }>({
    method: 'POST',
    url: '/v1/events',
    headers: as[tenant]!,
    body,
  });

interface EventView {
  event: HooklineEvent;
  deliveries: { id: string; subscriptionId: string; status: string }[];
}

const getEvent = (id: string, headers: Record<string, string>, query = '') =>
  h.request<EventView>({ method: 'GET', url: `/v1/events/${id}${query}`, headers });

/** Requests that carry event `id` (report destinations are unsigned: no webhook-id, the id is in the body). */
const carrying = (id: string) => (r: Received) => r.body.includes(id);

describe('event ids are per tenant', () => {
  it('the same id in two tenants is two events: both delivered, neither a duplicate, each read by its own tenant', async () => {
    const id = randomId('shared');
    const first = await publish(A, eventOf(A, id));
    expect(first.status, first.raw).toBe(202);
    expect(first.body).toEqual({ id, duplicate: false });
    const second = await publish(B, eventOf(B, id));
    expect(second.status, second.raw).toBe(202);
    expect(second.body).toEqual({ id, duplicate: false });

    // Each tenant's subscriber and report URL get its own event, with the id it gave.
    const got = await rx.waitFor(4, { filter: carrying(id) });
    expect(got.map((r) => r.path).sort()).toEqual([`/${A}`, `/${A}-report`, `/${B}`, `/${B}-report`].sort());
    for (const t of [A, B]) {
      const mine = got.filter((r) => r.path.startsWith(`/${t}`));
      for (const r of mine) expect(r.body).toContain(`m-${t}-${id}`);
      expect(mine.find((r) => !r.path.endsWith('-report'))!.headers['webhook-id']).toBe(id);
      expect(mine.find((r) => r.path.endsWith('-report'))!.headers['x-webhook-secret']).toBe(
        `secret-of-${t}`,
      );
    }

    // Idempotency still holds within each tenant.
    expect((await publish(A, eventOf(A, id))).body).toEqual({ id, duplicate: true });
    expect((await publish(B, eventOf(B, id))).body).toEqual({ id, duplicate: true });

    // Reads by id: each tenant sees its own event and deliveries, a third tenant nothing.
    for (const t of [A, B]) {
      const view = await h.until(async () => {
        const res = await getEvent(id, as[t]!);
        expect(res.status, res.raw).toBe(200);
        return res.body.deliveries.every((d) => d.status === 'succeeded') && res.body;
      });
      expect(view.event).toMatchObject({ id, tenantId: t, messageId: `m-${t}-${id}` });
      expect(view.event.deliveryReport!.webhookSecret).toBe(`secr****`);
      expect(view.deliveries.map((d) => d.subscriptionId).sort()).toEqual([subs[t], 'report'].sort());
    }
    const [viewA, viewB] = [(await getEvent(id, as[A]!)).body, (await getEvent(id, as[B]!)).body];
    const idsA = viewA.deliveries.map((d) => d.id);
    expect(viewB.deliveries.map((d) => d.id).filter((d) => idsA.includes(d))).toEqual([]);
    expectProblem(await getEvent(id, as[C]!), 404, 'not_found');
    // Another tenant's delivery is not found either.
    const foreign = await h.request({ method: 'GET', url: `/v1/deliveries/${idsA[0]}`, headers: as[B]! });
    expectProblem(foreign, 404, 'not_found');

    // The admin names the tenant.
    expectProblem(await getEvent(id, {}), 400, 'validation_error', '/querystring/tenantId');
    const admin = await getEvent(id, {}, `?tenantId=${encodeURIComponent(B)}`);
    expect(admin.status, admin.raw).toBe(200);
    expect(admin.body.event.messageId).toBe(`m-${B}-${id}`);

    // A replay is B's event only: B's destinations get it again, A's nothing.
    const before = rx.requests.filter(carrying(id)).length;
    const replay = await h.request<{ queued: number; deliveries: { subscriptionId: string }[] }>({
      method: 'POST',
      url: `/v1/events/${id}/replay`,
      headers: as[B]!,
    });
    expect(replay.status, replay.raw).toBe(202);
    expect(replay.body.deliveries.map((d) => d.subscriptionId).sort()).toEqual([subs[B], 'report'].sort());
    const again = await rx.waitFor(before + 2, { filter: carrying(id) });
    expect(
      again
        .slice(before)
        .map((r) => r.path)
        .sort(),
    ).toEqual([`/${B}`, `/${B}-report`].sort());
    const replayC = await h.request({ method: 'POST', url: `/v1/events/${id}/replay`, headers: as[C]! });
    expectProblem(replayC, 404, 'not_found');
  });

  it('a batch may carry the same id for two tenants (a platform publisher); twice for one tenant is a duplicate', async () => {
    const id = randomId('batch');
    const res = await h.request<{ results: { id: string; duplicate: boolean }[] }>({
      method: 'POST',
      url: '/v1/events/batch',
      body: { events: [eventOf(A, id), eventOf(B, id), eventOf(B, id)] },
    });
    expect(res.status, res.raw).toBe(202);
    expect(res.body.results.map((r) => r.duplicate)).toEqual([false, false, true]);
    const got = await rx.waitFor(4, { filter: carrying(id) });
    expect(got.map((r) => r.path).sort()).toEqual([`/${A}`, `/${A}-report`, `/${B}`, `/${B}-report`].sort());
  });
});

describe('upgrading from 0.3', () => {
  it('an event, its claim and its jobs written by 0.3 are delivered and read by their tenant only', async () => {
    const { redis, keys, deliveriesQueue, deliveries } = h.hookline.ctx;
    const id = randomId('v03');
    const event = normalizeEvent({
      ...eventOf(A, id),
      // 0.3 sealed the secret without additional data.
      deliveryReport: {
        webhookUrl: `${rx.url}/${A}-v03-report`,
        webhookSecret: sealV1(h.config.ENCRYPTION_KEY, 'legacy-report-secret'),
      },
    } as EventInput);
    const [subDelivery, reportDelivery] = await storeV03Event(redis, keys, event, [subs[A]!, 'report']);
    // 0.3 jobs name the event by id alone.
    await deliveriesQueue.addBulk([
      {
        name: event.type,
        data: { d: subDelivery!, s: subs[A]!, e: event.id },
        opts: deliveryJobOptions(subDelivery!, 10, deliveries.ttlSeconds),
      },
      {
        name: event.type,
        data: { d: reportDelivery!, s: 'report', e: event.id },
        opts: deliveryJobOptions(reportDelivery!, REPORT_MAX_RETRIES, deliveries.ttlSeconds),
      },
    ]);
    const got = await rx.waitFor(2, { filter: carrying(id) });
    expect(got.map((r) => r.path).sort()).toEqual([`/${A}`, `/${A}-v03-report`].sort());
    expect(got.find((r) => r.path.endsWith('report'))!.headers['x-webhook-secret']).toBe(
      'legacy-report-secret',
    );
    for (const r of got) expect(r.body).toContain(`m-${A}-${id}`);

    const view = await h.until(async () => {
      const res = await getEvent(event.id, as[A]!);
      expect(res.status, res.raw).toBe(200);
      return res.body.deliveries.every((d) => d.status === 'succeeded') && res.body;
    });
    expect(view.event.messageId).toBe(`m-${A}-${id}`);
    expect(view.event.deliveryReport!.webhookSecret).toBe('lega****');
    expect(view.deliveries.map((d) => d.id).sort()).toEqual([subDelivery, reportDelivery].sort());
    expectProblem(await getEvent(event.id, as[B]!), 404, 'not_found');

    // The 0.3 claim still makes A's retry a duplicate; B's event of that id is B's own.
    expect((await publish(A, eventOf(A, event.id))).body).toEqual({ id: event.id, duplicate: true });
    expect((await publish(B, eventOf(B, event.id))).body).toEqual({ id: event.id, duplicate: false });
    const bGot = await rx.waitFor(2, { filter: (r) => carrying(id)(r) && r.path.startsWith(`/${B}`) });
    expect(bGot.map((r) => r.path).sort()).toEqual([`/${B}`, `/${B}-report`].sort());
    expect((await getEvent(event.id, as[B]!)).body.event.messageId).toBe(`m-${B}-${id}`);
    expect((await getEvent(event.id, as[A]!)).body.event.messageId).toBe(`m-${A}-${id}`);

    // Retrying a 0.3 delivery re-drives the 0.3 event, listed with its old deliveries.
    const retried = await h.request<{ id: string }>({
      method: 'POST',
      url: `/v1/deliveries/${reportDelivery}/retry`,
      headers: as[A]!,
    });
    expect(retried.status, retried.raw).toBe(202);
    const sent = await rx.waitFor(2, { filter: (r) => r.path === `/${A}-v03-report` });
    expect(sent[1]!.headers['x-webhook-secret']).toBe('legacy-report-secret');
    const after = await h.until(async () => {
      const res = (await getEvent(event.id, as[A]!)).body;
      return res.deliveries.every((d) => d.status === 'succeeded') && res;
    });
    expect(after.deliveries.map((d) => d.id).sort()).toEqual(
      [subDelivery, reportDelivery, retried.body.id].sort(),
    );
  });
});
