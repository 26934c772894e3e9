// No decryption oracle: an event's deliveryReport.webhookSecret is always encrypted as given,
// so a ciphertext read from Redis (a dump, a backup) and published as a secret is sent as the
// literal string, never its plaintext. Each ciphertext is bound to its tenant, record and field:
// moved, it does not decrypt. A stored secret that does not decrypt never makes a read fail
// (it shows as unreadable) and fails its deliveries with secret_unreadable, sending nothing.
// The secret is a header value: CR, LF and other controls are refused at publish.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventFromRedis, eventToRedis } from '../../src/store/delivery-layout.js';
import type { HooklineEvent } from '../../src/domain/event.js';
import type { Subscription } from '../../src/domain/subscription.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { sealV1 } from '../helpers/legacy.js';
import { startReceiver, type Received, type Receiver } from '../helpers/receiver.js';
import { expectProblem, uniqueTenant } from './support.js';

let h: Harness;
let rx: Receiver;
const A = uniqueTenant('oracle_a');
const B = uniqueTenant('oracle_b');

beforeAll(async () => {
  h = await startHarness();
  rx = await startReceiver();
});
afterAll(async () => {
  await h?.close();
  await rx?.close();
});

let n = 0;
/** A delivered event of `tenant` whose only destination is its deliveryReport URL `/<path>`. */
const reportEvent = (tenant: string, path: string, webhookSecret: string) => ({
  id: `evt_oracle_${++n}_${Math.random().toString(36).slice(2)}`,
  tenantId: tenant,
  type: 'message.delivered',
  channel: 'sms',
  messageId: `m-oracle-${n}`,
  deliveryReport: { webhookUrl: `${rx.url}/${path}`, webhookSecret },
});

async function publish(body: unknown): Promise<string> {
  const res = await h.request<{ id: string }>({ method: 'POST', url: '/v1/events', body });
  expect(res.status, res.raw).toBe(202);
  return res.body.id;
}

const at = (path: string) => (r: Received) => r.path === `/${path}`;

/** The stored copy of an event, as Redis holds it. */
async function stored(tenant: string, id: string): Promise<HooklineEvent> {
  const { redis, keys } = h.hookline.ctx;
  return eventFromRedis((await redis.hget(keys.event(tenant, id), 'e'))!, { tenantId: tenant, id });
}

async function overwriteStored(event: HooklineEvent): Promise<void> {
  const { redis, keys } = h.hookline.ctx;
  await redis.hset(keys.event(event.tenantId, event.id), 'e', eventToRedis(event));
}

interface DeliveryView {
  id: string;
  status: string;
  attempts: { error: { code: string; message: string } | null }[];
}

describe('no decryption oracle', () => {
  it('a ciphertext published as a report secret is sent as the literal string, never its plaintext', async () => {
    const idA = await publish(reportEvent(A, 'a-report', 'plaintext-of-tenant-a'));
    const [own] = await rx.waitFor(1, { filter: at('a-report') });
    expect(own!.headers['x-webhook-secret']).toBe('plaintext-of-tenant-a');
    // What a reader of a Redis dump holds: A's ciphertext, and one 0.3 wrote (no additional data).
    const ciphertextV2 = (await stored(A, idA)).deliveryReport!.webhookSecret!;
    expect(ciphertextV2).toMatch(/^enc:v2:/);
    const ciphertextV1 = sealV1(h.config.ENCRYPTION_KEY, 'plaintext-in-a-0.3-dump');

    // Replayed by B through the API and through the Node publisher, to B's own URL.
    await publish(reportEvent(B, 'b-report-v2', ciphertextV2));
    await h.hookline.ctx.publisher.publish(reportEvent(B, 'b-report-v1', ciphertextV1));
    const [v2] = await rx.waitFor(1, { filter: at('b-report-v2') });
    const [v1] = await rx.waitFor(1, { filter: at('b-report-v1') });
    expect(v2!.headers['x-webhook-secret']).toBe(ciphertextV2);
    expect(v1!.headers['x-webhook-secret']).toBe(ciphertextV1);
    for (const r of rx.requests.filter((r) => r !== own)) {
      expect(JSON.stringify(r)).not.toContain('plaintext-of-tenant-a');
      expect(JSON.stringify(r)).not.toContain('plaintext-in-a-0.3-dump');
    }
  });

  it('a report secret moved to another tenant’s event, or damaged, reads as unreadable (200) and fails its delivery with secret_unreadable, sending nothing', async () => {
    const idA = await publish(reportEvent(A, 'a-moved-source', 'plaintext-to-move'));
    await rx.waitFor(1, { filter: at('a-moved-source') });
    const moved = (await stored(A, idA)).deliveryReport!.webhookSecret!;

    for (const [label, bad] of [
      ['moved', moved],
      ['damaged', 'enc:v2:damaged.value.here'],
      ['damaged-v1', 'enc:v1:AAAA'],
      ['not-encrypted', 'plain-in-redis'],
    ] as const) {
      const path = `b-${label}`;
      const idB = await publish(reportEvent(B, path, `secret-of-b-${label}`));
      await rx.waitFor(1, { filter: at(path) });
      const event = await stored(B, idB);
      await overwriteStored({ ...event, deliveryReport: { ...event.deliveryReport!, webhookSecret: bad } });

      const view = await h.request<{ event: HooklineEvent; deliveries: { id: string }[] }>({
        method: 'GET',
        url: `/v1/events/${idB}?tenantId=${B}`,
      });
      expect(view.status, `${label}: ${view.raw}`).toBe(200);
      expect(view.body.event.deliveryReport!.webhookSecret).toBe('(unreadable)');
      expect(view.raw).not.toContain('plaintext-to-move');

      const replay = await h.request<{ deliveries: { deliveryId: string }[] }>({
        method: 'POST',
        url: `/v1/events/${idB}/replay?tenantId=${B}`,
      });
      expect(replay.status, replay.raw).toBe(202);
      const deliveryId = replay.body.deliveries[0]!.deliveryId;
      const record = await h.until(async () => {
        const res = await h.request<DeliveryView>({ method: 'GET', url: `/v1/deliveries/${deliveryId}` });
        return res.body.status === 'failed' && res.body;
      });
      // One attempt, not retried: nothing can be sent until the secret is set again.
      expect(record.attempts.map((a) => a.error?.code)).toEqual(['secret_unreadable']);
      expect(record.attempts[0]!.error!.message).toMatch(/deliveryReport\/webhookSecret/);
      expect(rx.requests.filter(at(path))).toHaveLength(1);
    }
    expect(JSON.stringify(rx.requests.filter((r) => r.path.startsWith('/b-')))).not.toContain(
      'plaintext-to-move',
    );
  });

  it('a subscription secret that does not decrypt reads as unreadable, fails its deliveries with secret_unreadable, and mends when set again', async () => {
    const { redis, keys, subscriptions } = h.hookline.ctx;
    const create = async (tenant: string, path: string, token: string) => {
      const res = await h.request<{ id: string }>({
        method: 'POST',
        url: `/v1/subscriptions?tenantId=${tenant}`,
        body: { webhookUrl: `${rx.url}/${path}`, events: ['*'], authType: 'bearer', bearer: { token } },
      });
      expect(res.status, res.raw).toBe(201);
      return res.body.id;
    };
    const subA = await create(A, 'sub-a', 'bearer-token-of-a');
    const subB = await create(B, 'sub-b', 'bearer-token-of-b');
    // A's token ciphertext into B's record; B's signing secret damaged.
    const rawA = JSON.parse((await redis.get(keys.sub(subA)))!) as Subscription;
    const rawB = JSON.parse((await redis.get(keys.sub(subB)))!) as Subscription;
    rawB.bearer = { token: rawA.bearer!.token };
    rawB.signingSecrets = [{ secret: 'enc:v2:damaged.value.here' }];
    await redis.set(keys.sub(subB), JSON.stringify(rawB));
    subscriptions.invalidate(B, subB);

    const view = await h.request<{ bearer: { token: string } }>({
      method: 'GET',
      url: `/v1/subscriptions/${subB}`,
    });
    expect(view.status, view.raw).toBe(200);
    expect(view.body.bearer).toEqual({ token: '(unreadable)' });
    expectProblem(
      await h.request({ method: 'GET', url: `/v1/subscriptions/${subB}/secret` }),
      409,
      'conflict',
    );
    const listed = await h.request({ method: 'GET', url: `/v1/subscriptions?tenantId=${B}` });
    expect(listed.status, listed.raw).toBe(200);

    const test = await h.request<{ ok: boolean; error: { code: string } }>({
      method: 'POST',
      url: `/v1/subscriptions/${subB}/test`,
    });
    expect(test.status, test.raw).toBe(200);
    expect(test.body).toMatchObject({ ok: false, error: { code: 'secret_unreadable' } });

    const id = await publish({ tenantId: B, type: 'message.read', channel: 'sms', messageId: 'm-sub-b' });
    const event = await h.until(async () => {
      const res = await h.request<{ deliveries: { id: string; status: string }[] }>({
        method: 'GET',
        url: `/v1/events/${id}?tenantId=${B}`,
      });
      return res.body.deliveries?.[0]?.status === 'failed' && res.body;
    });
    const record = await h.request<DeliveryView>({
      method: 'GET',
      url: `/v1/deliveries/${event.deliveries[0]!.id}`,
    });
    expect(record.body.attempts.map((a) => a.error?.code)).toEqual(['secret_unreadable']);
    expect(rx.requests.filter(at('sub-b'))).toHaveLength(0);

    // Set again (a new token, a rotated signing secret), it delivers.
    const patched = await h.request({
      method: 'PATCH',
      url: `/v1/subscriptions/${subB}`,
      body: { bearer: { token: 'new-bearer-token-of-b' } },
    });
    expect(patched.status, patched.raw).toBe(200);
    const rotated = await h.request({
      method: 'POST',
      url: `/v1/subscriptions/${subB}/rotate-secret`,
      body: {},
    });
    expect(rotated.status, rotated.raw).toBe(200);
    expect((await h.request({ method: 'GET', url: `/v1/subscriptions/${subB}/secret` })).status).toBe(200);
    await publish({ tenantId: B, type: 'message.read', channel: 'sms', messageId: 'm-sub-b-2' });
    const [sent] = await rx.waitFor(1, { filter: at('sub-b') });
    expect(sent!.headers.authorization).toBe('Bearer new-bearer-token-of-b');
    expect(JSON.stringify(rx.requests)).not.toContain('bearer-token-of-a');
  });
});

describe('deliveryReport.webhookSecret is a header value', () => {
  const bad = ['line\r\nX-Injected: 1', 'line\nbreak', 'nul\u0000byte', 'caf\u00e9'];

  it('CR, LF, NUL or non-ASCII → 400 validation_error naming the field; nothing is queued', async () => {
    for (const secret of bad) {
      const res = await h.request({
        method: 'POST',
        url: '/v1/events',
        body: reportEvent(A, 'never', secret),
      });
      expectProblem(res, 400, 'validation_error', '/deliveryReport/webhookSecret');
    }
    const ok = reportEvent(A, 'batch-ok', 'fine-secret');
    const batch = await h.request({
      method: 'POST',
      url: '/v1/events/batch',
      body: { events: [ok, reportEvent(A, 'never', bad[0]!)] },
    });
    expectProblem(batch, 400, 'validation_error', '/events/1/deliveryReport/webhookSecret');
    // Nothing of the batch was claimed: the good event is new when sent again.
    const again = await h.request<{ duplicate: boolean }>({ method: 'POST', url: '/v1/events', body: ok });
    expect(again.body.duplicate).toBe(false);
    expect(rx.requests.filter(at('never'))).toHaveLength(0);
  });

  it('the Node publisher refuses them the same way', async () => {
    const { publisher } = h.hookline.ctx;
    const refusal = async (p: Promise<unknown>) =>
      (await p.then(
        () => undefined,
        (e: unknown) => e,
      )) as { code?: string; errors?: { path: string }[] } | undefined;
    const one = await refusal(publisher.publish(reportEvent(A, 'never', bad[0]!)));
    expect(one?.code).toBe('validation_error');
    expect(one?.errors?.map((e) => e.path)).toEqual(['/deliveryReport/webhookSecret']);
    const many = await refusal(
      publisher.publishBatch([reportEvent(A, 'never', 'fine'), reportEvent(A, 'never', bad[2]!)]),
    );
    expect(many?.errors?.map((e) => e.path)).toEqual(['/1/deliveryReport/webhookSecret']);
  });
});
