// A fan-out makes its new deliveries' first attempts itself (src/pipeline/direct.ts): a delivery
// costs a BullMQ job only when that attempt does not succeed. Retries continue the attempt count
// in a job, DELIVERY_CONCURRENCY bounds direct attempts and jobs together, a long attempt stops
// holding its fan-out (a watch job covers it), and shutdown queues what has not started.
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeEvent } from '../../src/domain/event.js';
import { deliveryId } from '../../src/domain/ids.js';
import { DIRECT_RETRY_MIN_DELAY_MS } from '../../src/pipeline/runner.js';
import { redrive } from '../../src/pipeline/fanout.js';
import { JOB, watchJobId, type DeliveryJobData } from '../../src/pipeline/jobs.js';
import { addPendingDelivery, startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Reply } from '../helpers/receiver.js';
import { allDeliveries, makeEvents, publish, subscribe, uniqueTenant } from '../resilience/support.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function setup(config: Record<string, string> = {}) {
  const rx = await startReceiver();
  open.push(rx);
  const h = await startHarness(config);
  open.push(h);
  return { h, rx, tenant: uniqueTenant('direct') };
}

/** A stored-shape event, as the API would accept it. */
const sentEvent = (tenantId: string, messageId: string) =>
  normalizeEvent({ tenantId, type: 'message.sent', channel: 'sms', messageId });

/** Jobs ever added to the deliveries queue, from BullMQ's event stream. */
async function jobsAdded(h: Harness): Promise<number> {
  const q = h.hookline.ctx.deliveriesQueue;
  const entries = await h.hookline.ctx.redis.xrange(q.keys.events!, '-', '+');
  return entries.filter(([, f]) => f[0] === 'event' && f[1] === 'added').length;
}

describe('direct first attempts', () => {
  it('delivers with no delivery job at all; FANOUT_DIRECT_MAX=0 queues one per delivery', async () => {
    for (const [max, jobs] of [
      ['1000', 0],
      ['0', 20],
    ] as const) {
      // Detaching (a watch job for an attempt past 250 ms, which a loaded CI machine can take)
      // has tests of its own: here no attempt detaches.
      const { h, rx, tenant } = await setup({ FANOUT_DIRECT_MAX: max, FANOUT_DIRECT_DETACH_MS: '10000' });
      const sub = await subscribe(h, tenant, `${rx.url}/ok`);
      await publish(h, makeEvents(tenant, 20));
      await rx.waitFor(20);
      const records = await h.until(async () => {
        const all = await allDeliveries(h, sub.id);
        return all.length === 20 && all.every((d) => d.status === 'succeeded') && all;
      });
      expect(records.every((d) => d.attempts.length === 1 && d.attempts[0]!.n === 1)).toBe(true);
      expect(await jobsAdded(h), `FANOUT_DIRECT_MAX=${max}`).toBe(jobs);
    }
  });

  it('a failed first attempt is retried by a job that continues the attempt count', async () => {
    // No attempt detaches (a watch job each, counted below): a loaded CI machine once took
    // past the default 250 ms for all ten (20 jobs added instead of 10).
    const { h, rx, tenant } = await setup({ FANOUT_DIRECT_DETACH_MS: '10000' });
    const seen = new Map<string, number>();
    rx.respond((r) => {
      const k = String(r.headers['webhook-id']);
      const n = (seen.get(k) ?? 0) + 1;
      seen.set(k, n);
      return { status: n === 1 ? 503 : 200 };
    });
    const sub = await subscribe(h, tenant, `${rx.url}/flaky`, { maxRetries: 2 });
    await publish(h, makeEvents(tenant, 10));
    const records = await h.until(async () => {
      const all = await allDeliveries(h, sub.id);
      return all.length === 10 && all.every((d) => d.status === 'succeeded') && all;
    });
    for (const d of records) {
      expect(d.attempts.map((a) => [a.n, a.statusCode])).toEqual([
        [1, 503],
        [2, 200],
      ]);
    }
    // One job per delivery: the retry. None for the first attempts.
    expect(await jobsAdded(h)).toBe(10);
  });

  it('failures end in the failed list: after the retry job, or at once (maxRetries 0) without a second request', async () => {
    const { h, rx, tenant } = await setup();
    rx.respond(() => ({ status: 500 }));
    const once = await subscribe(h, tenant, `${rx.url}/down1`, { maxRetries: 1 });
    const never = await subscribe(h, tenant, `${rx.url}/down0`, { maxRetries: 0 });
    await publish(h, makeEvents(tenant, 3));
    const failedAll = async (subId: string) =>
      h.until(async () => {
        const all = await allDeliveries(h, subId);
        return all.length === 3 && all.every((d) => d.status === 'failed') && all;
      });
    const retried = await failedAll(once.id);
    const direct = await failedAll(never.id);
    for (const d of retried) expect(d.attempts.map((a) => a.n)).toEqual([1, 2]);
    for (const d of direct) expect(d.attempts.map((a) => a.n)).toEqual([1]);
    const q = h.hookline.ctx.deliveriesQueue;
    const ids = [...retried, ...direct].map((d) => d.id).sort();
    await h.until(async () => (await q.getJobCountByTypes('failed')) === 6);
    const failed = await q.getJobs(['failed']);
    expect(failed.map((j) => j.id).sort()).toEqual(ids);
    // The board shows why, as for any failed job, and the mirror no longer carries its marker.
    for (const j of failed) expect(j.failedReason).toMatch(/500/);
    expect(failed.every((j) => j.data.f === undefined)).toBe(true);
    expect(rx.requests.filter((r) => r.path === '/down1')).toHaveLength(6);
    expect(rx.requests.filter((r) => r.path === '/down0')).toHaveLength(3);
  });

  it('DELIVERY_CONCURRENCY bounds direct attempts and delivery jobs together', async () => {
    let inFlight = 0;
    let most = 0;
    const { h, rx, tenant } = await setup({ DELIVERY_CONCURRENCY: '3' });
    const seen = new Set<string>();
    rx.respond(async (r) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 30));
      inFlight--;
      // Every other delivery fails once: its retry is a job, running beside direct attempts.
      const k = String(r.headers['webhook-id']);
      const again = seen.has(k);
      seen.add(k);
      return { status: again || k.charCodeAt(k.length - 1) % 2 === 0 ? 200 : 500 };
    });
    const sub = await subscribe(h, tenant, `${rx.url}/bounded`);
    await Promise.all([publish(h, makeEvents(tenant, 30)), publish(h, makeEvents(tenant, 30))]);
    await h.until(async () => {
      const all = await allDeliveries(h, sub.id);
      return all.length === 60 && all.every((d) => d.status === 'succeeded');
    });
    expect(rx.requests.length).toBeGreaterThan(60);
    expect(most).toBe(3);
  });

  it('a retry job waiting for a slot gets its subscription’s turn, not the slot after every direct attempt', async () => {
    const { h, rx } = await setup({ DELIVERY_CONCURRENCY: '1', FANOUT_DIRECT_DETACH_MS: '60000' });
    const held: (() => void)[] = [];
    let flaky = 0;
    rx.respond((r) => {
      if (r.path === '/flaky') return { status: ++flaky === 1 ? 503 : 200 };
      return new Promise<Reply>((resolve) => held.push(() => resolve({ status: 200 })));
    });
    const [a, b] = [uniqueTenant('turn_a'), uniqueTenant('turn_b')];
    const x = await subscribe(h, a, `${rx.url}/flaky`);
    await subscribe(h, b, `${rx.url}/slow`);
    await publish(h, makeEvents(a, 1));
    const [xd] = await h.until(async () => {
      const all = await allDeliveries(h, x.id);
      return all[0]?.status === 'retrying' && all;
    });
    // Five direct attempts to a receiver that holds each request: one runs, four wait for the slot.
    await publish(h, makeEvents(b, 5));
    await h.until(() => held.length === 1);
    // X's retry job is fetched when due (after the 1 s floor) and waits for the slot too, behind
    // the four direct attempts.
    const q = h.hookline.ctx.deliveriesQueue;
    await h.until(async () => (await q.getJobState(xd!.id)) === 'active');
    await h.until(() => h.hookline.workers!.slots.waiting === 5);
    // The rest go through, one at a time.
    for (let n = 1; n <= 5; n++) {
      await h.until(() => held.length === n);
      held[n - 1]!();
    }
    await h.until(() => flaky === 2);
    // Subscriptions take turns: the slot freed by the first slow request goes to the slow one's
    // next (it waited first), the one after to X's retry, not after the fifth.
    expect(rx.requests.map((r) => r.path)).toEqual([
      '/flaky',
      '/slow',
      '/slow',
      '/flaky',
      '/slow',
      '/slow',
      '/slow',
    ]);
  });

  it('an attempt past FANOUT_DIRECT_DETACH_MS stops holding its fan-out; once recorded its watch job is removed', async () => {
    let answer: (() => void) | undefined;
    const { h, rx, tenant } = await setup({ FANOUT_DIRECT_DETACH_MS: '100' });
    rx.respond(() => new Promise<Reply>((resolve) => (answer = () => resolve({ status: 200 }))));
    const sub = await subscribe(h, tenant, `${rx.url}/slow`);
    const fanouts: string[] = [];
    h.hookline.workers!.workers[0]!.on('completed', (job) => fanouts.push(job.id!));
    await publish(h, makeEvents(tenant, 1));
    await rx.waitFor(1);
    // The fan-out completes while the request is still unanswered.
    await h.until(() => fanouts.length === 1);
    const [d] = await allDeliveries(h, sub.id);
    expect(d!.status).toBe('pending');
    const q = h.hookline.ctx.deliveriesQueue;
    expect(await q.getJobState(watchJobId(d!.id))).toBe('delayed');
    answer!();
    await h.until(async () => (await allDeliveries(h, sub.id))[0]!.status === 'succeeded');
    // Nothing left to watch: the job is gone rather than delayed for 5 minutes.
    await h.until(async () => (await q.getJob(watchJobId(d!.id))) === undefined);
    expect(rx.requests).toHaveLength(1);
    // A watch that runs all the same (its removal lost) finds the delivery done: it sends nothing.
    await q.add(
      JOB.watch,
      { d: d!.id, s: sub.id, e: (await allDeliveries(h, sub.id))[0]!.eventId, t: tenant, m: 3 } as never,
      {
        jobId: watchJobId(d!.id),
      },
    );
    await h.until(async () => (await q.getJob(watchJobId(d!.id)))?.finishedOn !== undefined);
    expect(rx.requests).toHaveLength(1);
    expect((await allDeliveries(h, sub.id))[0]!.attempts).toHaveLength(1);
  });

  it.each([
    ['a watch job', JOB.watch, () => ({ m: 3 })],
    // Queued by 0.3 or an earlier 0.4: named `hookline.watch`, maxRetries and event type under `w`.
    [
      'a watch job queued before job roles',
      'hookline.watch',
      (t: string) => ({ w: { maxRetries: 3, name: t } }),
    ],
  ] as const)(
    '%s queues a delivery whose direct attempt was never recorded (its process died)',
    async (_, name, extra) => {
      const { h, rx, tenant } = await setup();
      const sub = await subscribe(h, tenant, `${rx.url}/orphan`);
      const { deliveries, deliveriesQueue } = h.hookline.ctx;
      // What a fan-out leaves when it dies mid-attempt: a pending record, its event, no job.
      const event = sentEvent(tenant, 'm-orphan');
      const id = await addPendingDelivery(h, event, sub.id);
      const requeued = new Promise<{ name: string; data: DeliveryJobData }>((resolve) =>
        h.hookline.workers!.workers[1]!.on('active', (job) => job.id === id && resolve(job)),
      );
      await deliveriesQueue.add(
        name,
        { d: id, s: sub.id, e: event.id, t: tenant, ...extra(event.type) },
        { jobId: watchJobId(id), removeOnComplete: true },
      );
      await rx.waitFor(1);
      await h.until(async () => (await deliveries.getStatus(id)) === 'succeeded');
      expect(rx.requests[0]!.body).toContain('m-orphan');
      expect(rx.requests[0]!.headers['webhook-id']).toBe(event.id);
      // Queued again as a `deliver` job naming its delivery and event.
      const job = await requeued;
      expect([job.name, job.data]).toEqual([JOB.deliver, { d: id, s: sub.id, e: event.id, t: tenant }]);
    },
  );

  it('a direct delivery that throws is queued as a job; one detached before it threw keeps its watch job too', async () => {
    // One slot: the first delivery detaches (100 ms), throws at 300 ms and only then lets the
    // second start, which throws at once. Both have settled before the fan-out queues anything.
    const { h, rx, tenant } = await setup({ FANOUT_DIRECT_DETACH_MS: '100', DELIVERY_CONCURRENCY: '1' });
    const sub = await subscribe(h, tenant, `${rx.url}/thrown`);
    // A hook failing once per delivery stands in for a Redis failure before the outcome is settled.
    const thrown = new Set<string>();
    const events = makeEvents(tenant, 2);
    const [slowId, fastId] = events.map((e) => deliveryId(e.tenantId, e.id, sub.id));
    h.hookline.ctx.deliveryHooks.unshift({
      async beforeAttempt(_sub, delivery) {
        if (thrown.has(delivery.id)) return 0;
        thrown.add(delivery.id);
        if (delivery.id === slowId) await new Promise((r) => setTimeout(r, 300));
        throw new Error('store unavailable');
      },
    });
    const fanouts: string[] = [];
    const failures: string[] = [];
    const [fanout] = h.hookline.workers!.workers;
    fanout!.on('completed', (job) => fanouts.push(job.id!));
    fanout!.on('failed', (job) => failures.push(job!.id!));
    await publish(h, events);
    await h.until(() => fanouts.length === 1);
    expect(thrown).toEqual(new Set([slowId, fastId]));
    const q = h.hookline.ctx.deliveriesQueue;
    expect(await q.getJobState(watchJobId(slowId!))).toBe('delayed');
    // Both were queued as ordinary jobs and delivered by them, once each: the second when the
    // fan-out settled, the first as soon as it threw, without waiting for its watch.
    await rx.waitFor(2);
    for (const id of [slowId!, fastId!])
      await h.until(async () => (await h.hookline.ctx.deliveries.getStatus(id)) === 'succeeded');
    expect(failures).toEqual([]);
    // The watch then finds the delivery done and sends nothing.
    await (await q.getJob(watchJobId(slowId!)))!.promote();
    await h.until(async () => (await q.getJob(watchJobId(slowId!))) === undefined);
    expect(rx.requests).toHaveLength(2);
  });

  it('an error after the attempt was recorded does not send the delivery again', async () => {
    const { h, rx, tenant } = await setup();
    const sub = await subscribe(h, tenant, `${rx.url}/after`);
    let thrown = 0;
    h.hookline.ctx.deliveryHooks.push({
      afterAttempt() {
        thrown++;
        throw new Error('hook failed');
      },
    });
    const fanouts: string[] = [];
    h.hookline.workers!.workers[0]!.on('completed', (job) => fanouts.push(job.id!));
    await publish(h, makeEvents(tenant, 3));
    await h.until(() => fanouts.length === 1);
    const records = await allDeliveries(h, sub.id);
    expect(records.map((d) => d.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(thrown).toBe(3);
    expect(await jobsAdded(h)).toBe(0);
    expect(rx.requests).toHaveLength(3);
  });

  it('a direct retry waits at least DIRECT_RETRY_MIN_DELAY_MS, even after Retry-After: 0', async () => {
    const { h, rx, tenant } = await setup();
    const seen = new Set<string>();
    rx.respond((r) => {
      const k = String(r.headers['webhook-id']);
      if (seen.has(k)) return { status: 200 };
      seen.add(k);
      return { status: 503, headers: { 'retry-after': '0' } };
    });
    const sub = await subscribe(h, tenant, `${rx.url}/soon`);
    await publish(h, makeEvents(tenant, 1));
    const [d] = await h.until(async () => {
      const all = await allDeliveries(h, sub.id);
      return all[0]?.status === 'succeeded' && all;
    });
    const [first, second] = d!.attempts.map((a) => Date.parse(a.startedAt));
    // Its job is queued before attempt 1 is recorded: run at once, it could record attempt 2 first.
    expect(second! - first!).toBeGreaterThanOrEqual(DIRECT_RETRY_MIN_DELAY_MS);
  });

  it('a re-drive without a previous delivery leaves a pending record it did not create to its fan-out', async () => {
    const rx = await startReceiver();
    open.push(rx);
    const h = await startHarness({}, { workers: false });
    open.push(h);
    const tenant = uniqueTenant('redrive');
    const [own, other] = [
      await subscribe(h, tenant, `${rx.url}/own`),
      await subscribe(h, tenant, `${rx.url}/other`),
    ];
    const event = sentEvent(tenant, 'm-rd');
    // A fan-out's record, perhaps being attempted directly right now: no job.
    const id = await addPendingDelivery(h, event, own.id);
    const { redis, keys, deliveries, deliveriesQueue: queue } = h.hookline.ctx;
    const deps = { redis, keys, deliveries, queue };
    expect(await redrive(deps, event, { subscriptionId: own.id, maxRetries: 3 })).toEqual({
      id,
      created: false,
    });
    expect(await queue.getJob(id)).toBeUndefined();
    // Control: a destination with no record yet gets its record and its job.
    const made = await redrive(deps, event, { subscriptionId: other.id, maxRetries: 3 });
    expect(made.created).toBe(true);
    const job = await queue.getJob(made.id);
    expect([job?.name, job?.data]).toEqual([
      JOB.deliver,
      { d: made.id, s: other.id, e: event.id, t: tenant },
    ]);
  });

  it('shutdown queues the deliveries still waiting for a slot instead of sending them', async () => {
    const answers: (() => void)[] = [];
    const { h, rx, tenant } = await setup({ DELIVERY_CONCURRENCY: '1' });
    rx.respond(() => new Promise<Reply>((resolve) => answers.push(() => resolve({ status: 200 }))));
    const sub = await subscribe(h, tenant, `${rx.url}/stop`);
    await publish(h, makeEvents(tenant, 5));
    await rx.waitFor(1);
    const closing = h.hookline.workers!.close();
    // The four waiting for the one slot become jobs; the attempt under way finishes.
    const q = h.hookline.ctx.deliveriesQueue;
    await h.until(async () => (await q.getJobCounts('waiting')).waiting === 4);
    answers.forEach((a) => a());
    await closing;
    expect(rx.requests).toHaveLength(1);
    const records = await allDeliveries(h, sub.id);
    expect(records.filter((d) => d.status === 'succeeded')).toHaveLength(1);
    const waiting = (await q.getJobs(['waiting'])).map((j) => j.id).sort();
    expect(waiting).toEqual(
      records
        .filter((d) => d.status === 'pending')
        .map((d) => d.id)
        .sort(),
    );
  });
});
