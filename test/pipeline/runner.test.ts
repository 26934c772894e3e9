// The runner (src/pipeline/runner.ts): decide() comes to every Verdict kind against a real
// receiver, and commit() carries each out, for a delivery job (it returns, or throws what makes
// BullMQ delay, retry or fail the job) and for a direct first attempt (it queues the job the
// outcome needs, before the record that could point at it). Real Redis and BullMQ, no workers:
// jobs stay where commit left them; delivery jobs are fetched by hand.
import { randomUUID } from 'node:crypto';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeEvent, type EventType, type HooklineEvent } from '../../src/domain/event.js';
import {
  DELIVERIES_QUEUE,
  JOB,
  jobData,
  roleOf,
  watchJobId,
  type DeliveryJobData,
} from '../../src/pipeline/jobs.js';
import {
  commit,
  decide,
  DIRECT_RETRY_MIN_DELAY_MS,
  HOLD_MS,
  processDelivery,
  RetryLater,
  type DeliveryDeps,
  type DeliveryRun,
} from '../../src/pipeline/runner.js';
import { deliveryDeps } from '../../src/pipeline/workers/delivery-worker.js';
import type { DeliveryStore } from '../../src/store/delivery-store.js';
import { addPendingDelivery, startHarness, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { subscribe, uniqueTenant } from '../resilience/support.js';

let h: Harness;
let rx: Receiver;
let deps: DeliveryDeps;
let fetcher: Worker<DeliveryJobData>;

beforeAll(async () => {
  rx = await startReceiver((r) => ({ status: Number(r.path.slice(1)) || 200 }));
  h = await startHarness({}, { workers: false });
  deps = deliveryDeps(h.hookline.ctx);
  // No processor: jobs are fetched by hand (getNextJob) and handed to commit or processDelivery.
  fetcher = new Worker<DeliveryJobData>(DELIVERIES_QUEUE, null, {
    connection: h.hookline.ctx.workerConnection(),
    prefix: h.config.REDIS_PREFIX,
  });
});
afterAll(async () => {
  await fetcher?.close();
  await h?.close();
  await rx?.close();
});

const queue = () => h.hookline.ctx.deliveriesQueue;

/** A subscription answering `status`, an event stored with its pending record, and the run of attempt 1. */
async function setup(
  status: number,
  opts: { type?: EventType; messageId?: string; maxAttempts?: number; tenant?: string; subId?: string } = {},
): Promise<DeliveryRun & { subId: string }> {
  const tenant = opts.tenant ?? uniqueTenant('runner');
  const subId = opts.subId ?? (await subscribe(h, tenant, `${rx.url}/${status}`)).id;
  const event: HooklineEvent = normalizeEvent({
    tenantId: tenant,
    type: opts.type ?? 'message.sent',
    channel: 'sms',
    messageId: opts.messageId ?? `m_${randomUUID()}`,
  });
  const id = await addPendingDelivery(h, event, subId);
  return {
    subId,
    delivery: { id, data: jobData(id, subId, event) },
    event,
    attemptNo: 1,
    maxAttempts: opts.maxAttempts ?? 3,
  };
}

/** Queues the run's delivery as a job of `name` and fetches it, active and locked, as a worker would. */
async function asJob(run: DeliveryRun, name: string = JOB.deliver, data = run.delivery.data) {
  // LIFO: fetched ahead of jobs other tests left waiting.
  await queue().add(name, data, { jobId: run.delivery.id, attempts: run.maxAttempts, lifo: true });
  return fetch(run.delivery.id);
}

/** The next job, fetched as a worker would (active, locked): the one expected. */
async function fetch(id: string) {
  const token = randomUUID();
  const job = (await fetcher.getNextJob(token, { block: false })) as Job<DeliveryJobData>;
  expect(job.id).toBe(id);
  return { job, token };
}

const record = (id: string) => h.hookline.ctx.deliveries.get(id);

/** POST /v1/subscriptions/:id/pause or resume. */
async function action(subId: string, name: 'pause' | 'resume') {
  const res = await h.request({ method: 'POST', url: `/v1/subscriptions/${subId}/${name}` });
  expect(res.status, res.raw).toBe(200);
}

/** `deps` whose store reports, as each attempt is recorded, what the delivery's job is then. */
function watchingRecords(seen: (string | undefined)[]): DeliveryDeps {
  const store = h.hookline.ctx.deliveries;
  const deliveries: DeliveryStore = Object.create(store) as DeliveryStore;
  deliveries.recordAttempt = async (id, ...rest) => {
    const job = await queue().getJob(id);
    seen.push(job && `${job.name}:${await job.getState()}`);
    return store.recordAttempt(id, ...rest);
  };
  return { ...deps, deliveries };
}

describe('decide and commit', () => {
  it('succeeded: recorded, no job for a direct attempt; a delivery job completes', async () => {
    const run = await setup(200);
    const v = await decide(deps, run);
    expect(v).toMatchObject({ kind: 'succeeded', made: { outcome: { ok: true, statusCode: 200 } } });
    expect(await commit(deps, run, v)).toBe('succeeded');
    expect(await record(run.delivery.id)).toMatchObject({ status: 'succeeded', attempts: [{ n: 1 }] });
    expect(await queue().getJob(run.delivery.id)).toBeUndefined();

    const again = await setup(200);
    const job = await asJob(again);
    expect(await commit(deps, { ...again, job }, await decide(deps, again))).toBe('succeeded');
  });

  it('retry, direct: the retry job exists before the record says retrying, and continues the count', async () => {
    const run = await setup(503);
    const v = await decide(deps, run);
    expect(v).toMatchObject({ kind: 'retry', message: 'http_error: subscriber answered 503' });
    const seen: (string | undefined)[] = [];
    expect(await commit(watchingRecords(seen), run, v)).toBe('retry');
    // Queued (delayed) before the record was written.
    expect(seen).toEqual([`${JOB.retry}:delayed`]);
    expect(await record(run.delivery.id)).toMatchObject({ status: 'retrying', attempts: [{ n: 1 }] });
    const job = (await queue().getJob(run.delivery.id))!;
    expect(job.name).toBe(JOB.retry);
    expect(job.data).toEqual({ ...run.delivery.data, a: 1 });
    // Attempts 2 and 3 are left, and none runs sooner than the floor (RETRY_BASE_MS is 50 here).
    expect(job.opts.attempts).toBe(2);
    expect(job.opts.delay).toBe(DIRECT_RETRY_MIN_DELAY_MS);
  });

  it('retry, delivery job: recorded, then RetryLater carries the recorded delay to BullMQ', async () => {
    const run = await setup(503);
    const job = await asJob(run);
    const seen: (string | undefined)[] = [];
    const v = await decide(deps, { ...run, job });
    const thrown = await commit(watchingRecords(seen), { ...run, job }, v).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(RetryLater);
    expect((thrown as RetryLater).retryDelayMs).toBe((v as { delayMs: number }).delayMs);
    // The job running it is the one that runs it again: nothing else was queued.
    expect(seen).toEqual([`${JOB.deliver}:active`]);
    const rec = (await record(run.delivery.id))!;
    expect(rec.status).toBe('retrying');
  });

  it('failed on the last attempt: a direct one is shown as a failed job; a delivery job fails retryable', async () => {
    const run = await setup(500, { maxAttempts: 1 });
    const v = await decide(deps, run);
    expect(v).toMatchObject({ kind: 'failed', early: false });
    expect(await commit(deps, run, v)).toBe('failed');
    expect(await record(run.delivery.id)).toMatchObject({ status: 'failed', attempts: [{ n: 1 }] });
    const shown = (await queue().getJob(run.delivery.id))!;
    expect(shown.name).toBe(JOB.failed);
    expect(shown.data).toEqual({ ...run.delivery.data, f: 'http_error: subscriber answered 500' });
    expect(shown.opts.attempts).toBe(1);

    const last = await setup(500, { maxAttempts: 1 });
    const job = await asJob(last);
    const thrown = await commit(deps, { ...last, job }, await decide(deps, last)).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).not.toBeInstanceOf(UnrecoverableError);
    expect(thrown).not.toBeInstanceOf(RetryLater);
  });

  it('failed early (410): never retried, and the subscription is disabled', async () => {
    const run = await setup(410);
    const job = await asJob(run);
    const v = await decide(deps, { ...run, job });
    expect(v).toMatchObject({ kind: 'failed', early: true, message: 'gone: subscriber answered 410 Gone' });
    await expect(commit(deps, { ...run, job }, v)).rejects.toBeInstanceOf(UnrecoverableError);
    expect(await record(run.delivery.id)).toMatchObject({ status: 'failed' });
    expect(await h.hookline.ctx.subscriptionStore.get(run.subId)).toMatchObject({
      status: 'disabled',
      disabledReason: 'gone',
    });
  });

  it('hold (paused): no request; direct, a deliver job sleeps out the hold and the delivery is parked', async () => {
    const run = await setup(200);
    const paused = await h.request({ method: 'POST', url: `/v1/subscriptions/${run.subId}/pause` });
    expect(paused.status, paused.raw).toBe(200);
    await h.until(async () => (await deps.subscriptions.get(run.subId))?.status === 'paused');
    const before = rx.requests.length;
    const v = await decide(deps, run);
    expect(v).toEqual({ kind: 'hold', ms: HOLD_MS, park: true, untilResume: true });
    expect(await commit(deps, run, v)).toBe('hold');
    const job = (await queue().getJob(run.delivery.id))!;
    expect([job.name, job.data, job.opts.attempts, job.opts.delay]).toEqual([
      JOB.deliver,
      run.delivery.data,
      3,
      HOLD_MS,
    ]);
    expect(await h.hookline.ctx.redis.smembers(h.hookline.ctx.keys.subHeld(run.subId))).toEqual([
      run.delivery.id,
    ]);
    expect(await record(run.delivery.id)).toMatchObject({ status: 'pending', attempts: [] });

    // A delivery job is moved to delayed, with DelayedError telling BullMQ so.
    const other = await setup(200, { tenant: run.event.tenantId, subId: run.subId });
    const active = await asJob(other);
    await expect(commit(deps, { ...other, job: active }, await decide(deps, other))).rejects.toBeInstanceOf(
      DelayedError,
    );
    expect(await active.job.getState()).toBe('delayed');
    expect(rx.requests.length).toBe(before);
  });

  it('hold (paused in a stale cache): one read past the cache finds it resumed, and the attempt is made', async () => {
    const run = await setup(200);
    await action(run.subId, 'pause');
    const stale = (await deps.subscriptions.get(run.subId))!;
    expect(stale.status).toBe('paused');
    await action(run.subId, 'resume');
    // This process's cache as another process's is until the resume's invalidation arrives.
    const dropped: string[] = [];
    const staleDeps: DeliveryDeps = {
      ...deps,
      subscriptions: {
        ...deps.subscriptions,
        get: async (id) => (id === run.subId ? stale : deps.subscriptions.get(id)),
        invalidate: (_tenant, id) => void dropped.push(id),
      },
    };
    const v = await decide(staleDeps, run);
    expect(v).toMatchObject({ kind: 'succeeded' });
    expect(dropped).toEqual([run.subId]);
  });

  it('hold (paused, resumed between decide and commit): the parked delivery is released at once', async () => {
    const run = await setup(200);
    await action(run.subId, 'pause');
    await h.until(async () => (await deps.subscriptions.get(run.subId))?.status === 'paused');
    const job = await asJob(run);
    const v = await decide(deps, { ...run, job });
    expect(v).toMatchObject({ kind: 'hold', untilResume: true });
    // Resume's release finds nothing held yet: the delivery is parked only now.
    await action(run.subId, 'resume');
    await expect(commit(deps, { ...run, job }, v)).rejects.toBeInstanceOf(DelayedError);
    expect(await job.job.getState()).toBe('waiting');
    expect(
      await h.hookline.ctx.redis.sismember(h.hookline.ctx.keys.subHeld(run.subId), run.delivery.id),
    ).toBe(0);

    // A direct attempt's hold job, the same.
    const direct = await setup(200, { tenant: run.event.tenantId, subId: run.subId });
    await action(run.subId, 'pause');
    const held = await decide(deps, direct);
    await action(run.subId, 'resume');
    expect(await commit(deps, direct, held)).toBe('hold');
    expect(await (await queue().getJob(direct.delivery.id))!.getState()).toBe('waiting');
  });

  it('hold (a hook, park: false): delayed, not parked', async () => {
    const run = await setup(200);
    const hooked = { ...deps, hooks: [{ beforeAttempt: async () => ({ ms: 700, park: false }) }] };
    const v = await decide(hooked, run);
    expect(v).toEqual({ kind: 'hold', ms: 700, park: false });
    await commit(hooked, run, v);
    expect((await queue().getJob(run.delivery.id))!.opts.delay).toBe(700);
    expect(await h.hookline.ctx.redis.scard(h.hookline.ctx.keys.subHeld(run.subId))).toBe(0);
  });

  it('cancelled: the destination is gone; the record ends cancelled', async () => {
    const run = await setup(200, { subId: `sub_gone_${randomUUID()}` });
    const v = await decide(deps, run);
    expect(v).toEqual({ kind: 'cancelled' });
    expect(await commit(deps, run, v)).toBe('cancelled');
    expect(await record(run.delivery.id)).toMatchObject({ status: 'cancelled', attempts: [] });
    expect(await queue().getJob(run.delivery.id)).toBeUndefined();
  });

  it('superseded: a later status of the message was delivered there; nothing is sent', async () => {
    const messageId = `m_${randomUUID()}`;
    const delivered = await setup(200, { type: 'message.delivered', messageId });
    expect(await commit(deps, delivered, await decide(deps, delivered))).toBe('succeeded');
    const sent = await setup(200, {
      type: 'message.sent',
      messageId,
      tenant: delivered.event.tenantId,
      subId: delivered.subId,
    });
    const before = rx.requests.length;
    const v = await decide(deps, sent);
    expect(v).toMatchObject({ kind: 'superseded' });
    expect(await commit(deps, sent, v)).toBe('superseded');
    expect(await record(sent.delivery.id)).toMatchObject({ status: 'superseded', attempts: [] });
    expect(rx.requests.length).toBe(before);
  });
});

describe('job roles', () => {
  it('are read from the name, or from the flags of a job queued before roles', () => {
    const d: DeliveryJobData = { d: 'dlv_1', s: 'sub_1', e: 'evt_1' };
    for (const role of Object.values(JOB)) expect(roleOf(role, d)).toBe(role);
    expect(roleOf('message.sent', d)).toBe(JOB.deliver);
    expect(roleOf('message.sent', { ...d, a: 0 })).toBe(JOB.deliver);
    expect(roleOf('message.sent', { ...d, a: 2 })).toBe(JOB.retry);
    expect(roleOf('message.sent', { ...d, a: 0, f: 'http_error: 500' })).toBe(JOB.failed);
    expect(roleOf('hookline.watch', { ...d, w: { maxRetries: 3, name: 'message.sent' } })).toBe(JOB.watch);
  });

  it('a retry job queued before roles (named after its event type, `a` set) continues the count', async () => {
    const run = await setup(200);
    const { d, s, e, t } = run.delivery.data;
    const job = await asJob(run, run.event.type, { d, s, e, t, a: 1 });
    expect(await processDelivery(deps, job.job, job.token)).toBe('succeeded');
    expect(await record(run.delivery.id)).toMatchObject({ status: 'succeeded', attempts: [{ n: 2 }] });
  });

  it('a failed job, new or queued before roles, fails at once without a request, then runs for real', async () => {
    for (const [name, flags] of [
      [JOB.failed, {}],
      ['message.sent', { a: 0 }],
    ] as const) {
      const run = await setup(200);
      const { d, s, e, t } = run.delivery.data;
      const job = await asJob(run, name, { d, s, e, t, ...flags, f: 'http_error: subscriber answered 500' });
      const before = rx.requests.length;
      const err = await processDelivery(deps, job.job, job.token).catch((e: unknown) => e as Error);
      expect(err).toEqual(new UnrecoverableError('http_error: subscriber answered 500'));
      expect(err).toBeInstanceOf(UnrecoverableError);
      expect(rx.requests.length).toBe(before);
      // As BullMQ does with what the processor threw, then Bull Board's retry.
      await job.job.moveToFailed(err as Error, job.token, false);
      const failed = (await queue().getJob(run.delivery.id))!;
      expect(failed.data.f).toBeUndefined();
      await failed.retry('failed');
      const again = await fetch(run.delivery.id);
      expect(again.job.attemptsMade).toBe(1);
      expect(await processDelivery(deps, again.job, again.token)).toBe('succeeded');
      // Its failed run counted as attempt 1: the real one is attempt 2.
      expect(await record(run.delivery.id)).toMatchObject({ status: 'succeeded', attempts: [{ n: 2 }] });
    }
  });

  it('a watch job leaves a delivery whose attempt was recorded alone', async () => {
    const run = await setup(200);
    expect(await commit(deps, run, await decide(deps, run))).toBe('succeeded');
    const data = { ...run.delivery.data, m: 3 };
    await queue().add(JOB.watch, data, { jobId: watchJobId(run.delivery.id), lifo: true });
    const { job, token } = await fetch(watchJobId(run.delivery.id));
    expect(await processDelivery(deps, job, token)).toBe('succeeded');
    expect(await queue().getJob(run.delivery.id)).toBeUndefined();
  });
});
