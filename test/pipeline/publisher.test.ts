// createPublisher with batches larger than one claim command (library callers have no batch
// cap): every id is claimed once, confirmed for 24 h, and a re-publish is all duplicates.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testConfig } from '../../src/config.js';
import { claimOf, claimValue, ID_CHUNK, IDEMPOTENCY_SECONDS } from '../../src/pipeline/publisher.js';
import { lhBucketOf, lhBuckets, LH_LOAD } from '../../src/redis/linear-hash.js';
import { createPublisher, type Publisher } from '../../src/services/publisher.js';
import { keyspace } from '../../src/redis/client.js';
import { deleteKeys, scanKeys } from '../helpers/harness.js';

const config = testConfig();
let publisher: Publisher;
let redis: Redis;

beforeAll(() => {
  publisher = createPublisher({ redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX });
  redis = new Redis(config.REDIS_URL);
});
afterAll(async () => {
  await publisher.close();
  await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
  redis.disconnect();
});

describe('publisher', () => {
  it('claims and confirms 100,000 ids in one call (one command would exceed the JS argument limit), then refuses them all', async () => {
    const n = 100_000;
    const events = Array.from({ length: n }, (_, i) => ({
      id: `evt_pub_${i}`,
      tenantId: 't_pub',
      type: 'message.delivered',
      channel: 'sms',
      messageId: `m${i}`,
    }));
    const first = await publisher.publishBatch(events);
    expect(first).toHaveLength(n);
    expect(first.filter((r) => r.duplicate)).toHaveLength(0);
    expect(first.map((r) => r.id)).toEqual(events.map((e) => e.id));

    const keys = keyspace(config.REDIS_PREFIX);
    // Claims are 12-byte fields of the slot table's buckets, not a key each; every bucket stays a
    // listpack of at most 128 fields (Redis 7's default hash-max-listpack-entries) although the
    // slot holds more than 64 × 512 claims.
    let claims = 0;
    let buckets = 0;
    for await (const batch of scanKeys(redis, `${config.REDIS_PREFIX}:idm:`))
      for (const k of batch.filter((k) => /:idm:\d+:\d+$/.test(k))) {
        const len = await redis.hlen(k);
        claims += len;
        buckets++;
        expect(len, k).toBeLessThanOrEqual(128);
        expect(await redis.object('ENCODING', k), k).toBe('listpack');
      }
    expect(claims).toBe(n);
    expect(buckets).toBe(lhBuckets(n));
    expect(claims / buckets).toBeGreaterThan(LH_LOAD * 0.9);
    let perClaimKeys = 0;
    for await (const batch of scanKeys(redis, `${config.REDIS_PREFIX}:idem:t_pub|`))
      perClaimKeys += batch.length;
    expect(perClaimKeys).toBe(0);
    // Confirmed for the idempotency window, not left at the short claim; each found where the
    // TypeScript twin of the Lua addressing says (2,000 of them, in one pipeline).
    const checked = Array.from({ length: 2_000 }, (_, i) => claimOf(keys, 't_pub', `evt_pub_${i * 50}`));
    const count = Number(await redis.get(checked[0]!.table));
    const pipe = redis.pipeline();
    for (const c of checked) pipe.hget(`${c.table}:${lhBucketOf(c.digest, lhBuckets(count))}`, c.digest);
    const values = (await pipe.exec())!.map(([, v]) => v);
    expect(values.filter((v) => v !== '0')).toEqual([]);
    const ttl = await redis.ttl(checked[0]!.table);
    expect(ttl).toBeGreaterThan(IDEMPOTENCY_SECONDS - 60);
    expect(ttl).toBeLessThanOrEqual(IDEMPOTENCY_SECONDS + 6 * 3600 + 60);

    const again = await publisher.publishBatch(events);
    expect(again.every((r) => r.duplicate)).toBe(true);
  });
});

describe('publisher: deliveryReport URLs', () => {
  // The API's save-time rules: https only unless allowed, and no private address outside the
  // allowlist. IP literals only: the check resolves nothing and connects nowhere.
  const report = (webhookUrl: string, i = 0) => ({
    id: `evt_report_${Math.random().toString(36).slice(2)}_${i}`,
    tenantId: 't_report',
    type: 'message.delivered',
    channel: 'sms',
    messageId: `m-report-${i}`,
    deliveryReport: { webhookUrl },
  });
  const refusal = async (p: Promise<unknown>, code = 'ssrf_blocked') => {
    const err = (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; errors?: { path: string; message: string }[] } | undefined;
    expect(err?.code).toBe(code);
    return err!.errors!;
  };
  let guarded: Publisher;
  let httpsOnly: Publisher;
  beforeAll(() => {
    const common = { redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX };
    guarded = createPublisher({ ...common, allowHttp: true, allowedPrivateCidrs: ['127.0.0.1/32'] });
    httpsOnly = createPublisher({ ...common, allowHttp: false, allowedPrivateCidrs: ['127.0.0.1/32'] });
  });
  afterAll(async () => {
    await guarded.close();
    await httpsOnly.close();
  });

  it('refuses a blocked address, naming the field; nothing of the batch is queued', async () => {
    const ok = report('http://127.0.0.1:9/dlr', 0);
    const blocked = report('http://127.0.0.2:9/dlr', 1);
    const errors = await refusal(guarded.publishBatch([ok, blocked]));
    expect(errors).toEqual([
      { path: '/1/deliveryReport/webhookUrl', message: expect.stringMatching(/^ssrf_blocked/) },
    ]);
    const keys = keyspace(config.REDIS_PREFIX);
    expect(await claimValue(redis, claimOf(keys, ok.tenantId, ok.id))).toBeNull();
    expect(await refusal(guarded.publish(report('http://[::ffff:127.0.0.2]/dlr')))).toEqual([
      { path: '/deliveryReport/webhookUrl', message: expect.stringMatching(/^ssrf_blocked/) },
    ]);
    // Allowed: queued.
    expect((await guarded.publish(ok)).duplicate).toBe(false);
  });

  it('refuses plain http:// unless allowed', async () => {
    const errors = await refusal(httpsOnly.publish(report('http://127.0.0.1:9/dlr')), 'validation_error');
    expect(errors.map((e) => e.path)).toEqual(['/deliveryReport/webhookUrl']);
    expect(errors[0]!.message).toMatch(/https/);
  });
});

describe('publisher: failures and defaults', () => {
  it('releases the ids it claimed when a later claim command fails, so the retry is not a duplicate', async () => {
    const conn = new Redis(config.REDIS_URL);
    const p = createPublisher({ connection: conn, prefix: config.REDIS_PREFIX });
    // The second claim command fails as a lost connection would (the first goes to Redis).
    const commands = conn as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const real = commands.hlClaimIds!.bind(conn);
    let calls = 0;
    const claims = vi.spyOn(commands, 'hlClaimIds').mockImplementation((...a) => {
      calls++;
      return calls === 2 ? Promise.reject(new Error('connection lost')) : real(...a);
    });
    try {
      const events = Array.from({ length: ID_CHUNK + 1 }, (_, i) => ({
        id: `evt_release_${i}`,
        tenantId: 't_release',
        type: 'message.delivered',
        channel: 'sms',
        messageId: `m${i}`,
      }));
      const err = await p.publishBatch(events).then(
        () => undefined,
        (e: unknown) => e as { code?: string },
      );
      expect(err?.code).toBe('unavailable');
      const keys = keyspace(config.REDIS_PREFIX);
      for (const e of [events[0]!, events[ID_CHUNK - 1]!]) {
        expect(await claimValue(redis, claimOf(keys, e.tenantId, e.id))).toBeNull();
      }
      claims.mockRestore();
      const again = await p.publishBatch(events);
      expect(again.filter((r) => r.duplicate)).toHaveLength(0);
    } finally {
      claims.mockRestore();
      await p.close();
      conn.disconnect();
    }
  });

  it('reads ALLOW_HTTP_WEBHOOKS and ALLOWED_PRIVATE_CIDRS as the server does when not given', async () => {
    const saved = { http: process.env.ALLOW_HTTP_WEBHOOKS, cidrs: process.env.ALLOWED_PRIVATE_CIDRS };
    const report = (webhookUrl: string) => ({
      tenantId: 't_env',
      type: 'message.delivered',
      channel: 'sms',
      messageId: `m-env-${Math.random()}`,
      deliveryReport: { webhookUrl },
    });
    const common = { redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX };
    try {
      process.env.ALLOWED_PRIVATE_CIDRS = '127.0.0.1/32';
      process.env.ALLOW_HTTP_WEBHOOKS = 'no';
      const strict = createPublisher(common);
      process.env.ALLOW_HTTP_WEBHOOKS = 'YES';
      const lax = createPublisher(common);
      try {
        const err = (await strict.publish(report('http://127.0.0.1:9/dlr')).then(
          () => undefined,
          (e: unknown) => e,
        )) as { code?: string; errors?: { path: string }[] } | undefined;
        expect(err?.code).toBe('validation_error');
        expect(err?.errors?.map((e) => e.path)).toEqual(['/deliveryReport/webhookUrl']);
        expect((await lax.publish(report('http://127.0.0.1:9/dlr'))).duplicate).toBe(false);
        await expect(lax.publish(report('http://127.0.0.2:9/dlr'))).rejects.toMatchObject({
          code: 'ssrf_blocked',
        });
      } finally {
        await strict.close();
        await lax.close();
      }
    } finally {
      for (const [k, v] of [
        ['ALLOW_HTTP_WEBHOOKS', saved.http],
        ['ALLOWED_PRIVATE_CIDRS', saved.cidrs],
      ] as const)
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  });
});

describe('publisher: compact idempotency claims', () => {
  const keys = keyspace(config.REDIS_PREFIX);
  const SLOT_MS = 6 * 3_600_000;
  const evt = (id: string) => ({
    id,
    tenantId: 't_window',
    type: 'message.delivered',
    channel: 'sms',
    messageId: 'm-window',
  });
  /** Writes a claim as if made `slotsAgo` 6-hour slots ago (negative: a producer clock ahead). */
  async function claimedEarlier(id: string, slotsAgo: number, value = '0', tenant = 't_window') {
    const c = claimOf(keys, tenant, id, Date.now() - slotsAgo * SLOT_MS);
    const count = Number((await redis.get(c.table)) ?? 0);
    const bucket = `${c.table}:${lhBucketOf(c.digest, lhBuckets(count))}`;
    await redis.hset(bucket, c.digest, value);
    await redis.expire(bucket, 3600);
    // Counted, as the script counts what it adds (a table without a count is not looked at).
    if ((await redis.incr(c.table)) === 1) await redis.expire(c.table, 3600);
  }
  /** The 0.4.0-pre layout: a field `<tenant>|<id>` of one of 64 FNV-1a shards of a 6-hour slot. */
  async function preClaim(id: string, slotsAgo: number, value: string) {
    const field = `t_window|${id}`;
    let h = 0x811c9dc5;
    for (let i = 0; i < field.length; i++) h = Math.imul(h ^ field.charCodeAt(i), 0x01000193);
    const slot = Math.floor((Date.now() - slotsAgo * SLOT_MS) / SLOT_MS);
    await redis.hset(keys.idemBucket(slot, (h >>> 0) % 64), field, value);
  }

  it('holds a confirmed claim for the whole window (the 4 slots before the current one) and no longer', async () => {
    await claimedEarlier('evt_w_4', 4);
    await claimedEarlier('evt_w_5', 5);
    const [inWindow, past] = await publisher.publishBatch([evt('evt_w_4'), evt('evt_w_5')]);
    expect(inWindow!.duplicate).toBe(true);
    expect(past!.duplicate).toBe(false);
  });

  it('frees a claim that was never confirmed once its deadline has passed, not before', async () => {
    const now = Math.floor(Date.now() / 1000);
    await claimedEarlier('evt_w_stale', 0, `${now - 1}`);
    await claimedEarlier('evt_w_live', 0, `${now + 60}`);
    const [stale, live] = await publisher.publishBatch([evt('evt_w_stale'), evt('evt_w_live')]);
    expect(stale!.duplicate).toBe(false);
    expect(live!.duplicate).toBe(true);
  });

  it('honours a claim of the next slot (a producer whose clock is ahead)', async () => {
    await claimedEarlier('evt_w_next', -1);
    expect((await publisher.publish(evt('evt_w_next'))).duplicate).toBe(true);
  });

  it('honours 0.4.0-pre claims (confirmed, or pending until their deadline) and 0.3 keys', async () => {
    const now = Math.floor(Date.now() / 1000);
    await preClaim('evt_pre_c', 2, 'c');
    await preClaim('evt_pre_live', 0, `p${now + 60}`);
    await preClaim('evt_pre_stale', 0, `p${now - 1}`);
    await redis.set(keys.legacyIdem('evt_v03'), 't_window', 'EX', 60);
    await redis.set(keys.legacyIdem('evt_v03_other'), 't_other', 'EX', 60);
    const ids = ['evt_pre_c', 'evt_pre_live', 'evt_pre_stale', 'evt_v03', 'evt_v03_other'];
    const results = await publisher.publishBatch(ids.map(evt));
    expect(results.map((r) => r.duplicate)).toEqual([true, true, false, true, false]);
  });

  it('keeps another tenant’s claim of the same id apart', async () => {
    await publisher.publish(evt('evt_w_shared'));
    const other = await publisher.publish({ ...evt('evt_w_shared'), tenantId: 't_window_other' });
    expect(other.duplicate).toBe(false);
  });
});
