// Finding and re-driving failures (SPEC §4): listings by status with cursors, recover re-drives
// exactly the failed deliveries created in its window, retry and replay start new attempt
// series, and another tenant's ids are 404.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { startCountingReceiver, type CountingReceiver } from '../fault/helpers.js';
import { allDeliveries, makeEvents, publish, subscribe, uniqueTenant, type DeliveryView } from './support.js';

let h: Harness;
let rx: CountingReceiver;
const tenant = uniqueTenant('recover');
const other = uniqueTenant('other');
let sub: { id: string };
let sub2: { id: string };
const failing = new Set<string>();
const windowA = { since: 0, until: 0 };
const eventsA = makeEvents(tenant, 30, 'a');
const eventsB = makeEvents(tenant, 20, 'b');

const settled = (subId: string, n: number) =>
  h.until(async () => {
    const all = await allDeliveries(h, subId);
    return all.length === n && all.every((d) => d.status === 'succeeded' || d.status === 'failed') && all;
  });

beforeAll(async () => {
  h = await startHarness();
  rx = await startCountingReceiver();
  rx.mode = (id) => (failing.has(id) ? 'fail' : 'ok');
  // One attempt each: a failure is final at once.
  sub = await subscribe(h, tenant, `${rx.url}/one`, { maxRetries: 0 });
  sub2 = await subscribe(h, tenant, `${rx.url}/two`, { maxRetries: 0, events: ['message.read'] });
  eventsA.slice(0, 10).forEach((e) => failing.add(e.id));
  eventsB.slice(0, 5).forEach((e) => failing.add(e.id));

  windowA.since = Date.now();
  await publish(h, eventsA);
  await settled(sub.id, 30);
  windowA.until = Date.now();
  await new Promise((r) => setTimeout(r, 5)); // B is created strictly after A's window
  await publish(h, eventsB);
  await settled(sub.id, 50);
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
});

const post = <T = Record<string, unknown>>(url: string, body?: unknown) =>
  h.request<T>({ method: 'POST', url, body: body ?? {} });

describe('delivery listings', () => {
  it('lists a subscription’s deliveries newest first, by status, page by page', async () => {
    const failed = await allDeliveries(h, sub.id, 'failed');
    expect(failed).toHaveLength(15);
    expect(new Set(failed.map((d) => d.eventId))).toEqual(failing);
    const all = await allDeliveries(h, sub.id);
    expect(all).toHaveLength(50);
    const times = all.map((d) => Date.parse(d.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    // Small pages: every failed delivery once, no page over its limit.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { status: number; body: { data: DeliveryView[]; nextCursor: string | null } } =
        await h.request({
          method: 'GET',
          url: `/v1/subscriptions/${sub.id}/deliveries?status=failed&limit=4${cursor ? `&cursor=${cursor}` : ''}`,
        });
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(4);
      seen.push(...res.body.data.map((d) => d.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(15);
    expect(new Set(seen).size).toBe(15);
  });

  it('lists a tenant’s deliveries by status across its subscriptions', async () => {
    const res = await h.request<{ data: DeliveryView[] }>({
      method: 'GET',
      url: `/v1/deliveries?tenantId=${tenant}&status=failed&limit=100`,
    });
    expect(res.status).toBe(200);
    expect(res.body.data.map((d) => d.status)).toEqual(Array(15).fill('failed'));
    const bad = await h.request({ method: 'GET', url: `/v1/subscriptions/${sub.id}/deliveries?cursor=nope` });
    expect(bad.status).toBe(400);
  });
});

describe('recover', () => {
  it('re-drives exactly the failed deliveries created in the window, once', async () => {
    failing.clear();
    const before = rx.ids.length;
    const res = await post<{ queued: number }>(`/v1/subscriptions/${sub.id}/recover`, {
      since: new Date(windowA.since).toISOString(),
      until: windowA.until,
    });
    expect(res.status, res.raw).toBe(202);
    expect(res.body).toEqual({ queued: 10 });
    await h.until(() => rx.ids.length >= before + 10);
    const redriven = await h.until(async () => {
      const all = await allDeliveries(h, sub.id);
      const fresh = all.filter((d) => d.retryOf);
      return fresh.length === 10 && fresh.every((d) => d.status === 'succeeded') && all;
    });
    const fresh = redriven.filter((d) => d.retryOf);
    expect(new Set(fresh.map((d) => d.eventId))).toEqual(new Set(eventsA.slice(0, 10).map((e) => e.id)));
    expect(fresh.every((d) => d.series === 1 && d.attempts.length === 1)).toBe(true);
    // The old records keep their history and point at their re-drive.
    const old = redriven.filter((d) => d.redrivenTo);
    expect(old.map((d) => d.status)).toEqual(Array(10).fill('failed'));
    expect(new Set(old.map((d) => d.redrivenTo))).toEqual(new Set(fresh.map((d) => d.id)));

    const again = await post<{ queued: number }>(`/v1/subscriptions/${sub.id}/recover`, {
      since: windowA.since,
      until: windowA.until,
    });
    expect(again.body).toEqual({ queued: 0 });
    // B's failures were outside the window: still failed, never re-sent.
    const bFailed = eventsB.slice(0, 5).map((e) => e.id);
    expect(rx.ids.filter((id) => bFailed.includes(id))).toHaveLength(5);
    console.log(
      `recover: window A had 30 deliveries (10 failed), B 20 (5 failed); queued ${res.body.queued}, then ${again.body.queued} on a second call`,
    );

    const badWindow = await post(`/v1/subscriptions/${sub.id}/recover`, {
      since: windowA.until,
      until: windowA.since,
    });
    expect(badWindow.status).toBe(400);
  });
});

describe('retry and replay', () => {
  it('retries a failed delivery as a new attempt series, then its latest series', async () => {
    const [target] = await allDeliveries(h, sub.id, 'failed').then((l) => l.filter((d) => !d.redrivenTo));
    const res = await post<DeliveryView>(`/v1/deliveries/${target!.id}/retry`);
    expect(res.status, res.raw).toBe(202);
    expect(res.body).toMatchObject({ retryOf: target!.id, series: 1, eventId: target!.eventId });
    expect(res.body.id).not.toBe(target!.id);
    await h.until(
      async () =>
        (await h.request<DeliveryView>({ method: 'GET', url: `/v1/deliveries/${res.body.id}` })).body
          .status === 'succeeded',
    );

    // Retrying the original again follows its chain: series 2, after the (finished) series 1.
    const second = await post<DeliveryView>(`/v1/deliveries/${target!.id}/retry`);
    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({ retryOf: res.body.id, series: 2 });
  });

  it('shows a delivery whole, links included, through GET /v1/deliveries/:id, both listings and its event', async () => {
    const [first] = await allDeliveries(h, sub.id, 'failed').then((l) => l.filter((d) => !d.redrivenTo));
    const get = async (id: string) =>
      (await h.request<DeliveryView>({ method: 'GET', url: `/v1/deliveries/${id}` })).body;
    const finished = (id: string) =>
      h.until(async () => {
        const d = await get(id);
        return (d.status === 'succeeded' || d.status === 'failed') && d;
      });
    const retried = (await post<DeliveryView>(`/v1/deliveries/${first!.id}/retry`)).body;
    expect(retried).toMatchObject({ retryOf: first!.id, series: expect.any(Number) });
    await finished(retried.id);
    const last = (await post<DeliveryView>(`/v1/deliveries/${retried.id}/retry`)).body;
    await finished(last.id);

    // The middle one carries all three links; every route shows it, and the others, the same.
    const middle = await get(retried.id);
    expect(middle).toMatchObject({ retryOf: first!.id, redrivenTo: last.id, series: retried.series });
    const listed = await allDeliveries(h, sub.id);
    const tenantWide = (
      await h.request<{ data: DeliveryView[] }>({
        method: 'GET',
        url: `/v1/deliveries?tenantId=${tenant}&subscriptionId=${sub.id}&limit=100`,
      })
    ).body.data;
    for (const id of [first!.id, retried.id, last.id]) {
      const one = await get(id);
      expect(listed.find((d) => d.id === id)).toEqual(one);
      expect(tenantWide.find((d) => d.id === id)).toEqual(one);
    }
    expect(Object.keys(last).sort()).toEqual(Object.keys(await get(last.id)).sort());

    const event = await h.request<{ deliveries: Record<string, unknown>[] }>({
      method: 'GET',
      url: `/v1/events/${first!.eventId}?tenantId=${tenant}`,
    });
    expect(event.body.deliveries.find((d) => d.id === retried.id)).toMatchObject({
      series: retried.series,
      retryOf: first!.id,
      redrivenTo: last.id,
      attempts: middle.attempts.length,
    });
  });

  it('answers 409 while a delivery is still under way', async () => {
    const paused = await subscribe(h, tenant, `${rx.url}/paused`, { events: ['message.clicked'] });
    await post(`/v1/subscriptions/${paused.id}/pause`);
    const clicked = makeEvents(tenant, 1, 'p').map((e) => ({ ...e, type: 'message.clicked' }));
    await publish(h, clicked);
    const [pending] = await h.until(async () => {
      const l = await allDeliveries(h, paused.id);
      return l.length === 1 && l;
    });
    const res = await post(`/v1/deliveries/${pending!.id}/retry`);
    expect(res.status).toBe(409);
  });

  it('replays an event to its destinations, or to the ones named', async () => {
    const e = eventsA[20]!;
    const before = rx.ids.filter((id) => id === e.id).length;
    const res = await post<{ queued: number; deliveries: { subscriptionId: string; deliveryId: string }[] }>(
      `/v1/events/${e.id}/replay?tenantId=${tenant}`,
    );
    expect(res.status, res.raw).toBe(202);
    expect(res.body.queued).toBe(1);
    await h.until(() => rx.ids.filter((id) => id === e.id).length === before + 1);

    // Named: a subscription that never had it (sub2 takes message.read only) gets it too.
    const named = await post<{ queued: number }>(`/v1/events/${e.id}/replay?tenantId=${tenant}`, {
      subscriptionIds: [sub2.id],
    });
    expect(named.body.queued).toBe(1);
    await h.until(() => rx.ids.filter((id) => id === e.id).length === before + 2);
    const unknown = await post(`/v1/events/${e.id}/replay?tenantId=${tenant}`, {
      subscriptionIds: ['sub_nope'],
    });
    expect(unknown.status).toBe(404);
  });
});

describe('tenant isolation', () => {
  it('answers 404 for another tenant’s subscription, event and delivery', async () => {
    const [d] = await allDeliveries(h, sub.id, 'failed');
    const q = `?tenantId=${other}`;
    const calls = [
      h.request({ method: 'GET', url: `/v1/subscriptions/${sub.id}/deliveries${q}` }),
      post(`/v1/subscriptions/${sub.id}/recover${q}`, { since: 0 }),
      post(`/v1/events/${eventsA[0]!.id}/replay${q}`),
      post(`/v1/deliveries/${d!.id}/retry${q}`),
      h.request({ method: 'GET', url: `/v1/deliveries${q}&subscriptionId=${sub.id}` }),
    ];
    for (const res of await Promise.all(calls)) expect(res.status, res.raw).toBe(404);
    const theirs = await h.request<{ data: unknown[] }>({
      method: 'GET',
      url: `/v1/deliveries${q}&status=failed`,
    });
    expect(theirs.body.data).toEqual([]);
  });
});
