// Hookline on a real three-master Redis Cluster (REDIS_CLUSTER_NODES): publish, fan-out, delivery,
// retry, held and recovered deliveries, the OAuth token cache, rate limit and in-flight scripts,
// Bull Board, and subscription cache invalidation between two instances. Every key and script
// must stay in the prefix's slot: a script or pipeline that strays fails with CROSSSLOT or MOVED.
import { createHash } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher } from '../../../src/index.js';
import { readLua, scriptNames } from '../../../src/redis/scripts.js';
import { tenantAuth, type Harness } from '../../helpers/harness.js';
import { startReceiver, type Receiver } from '../../helpers/receiver.js';
import { oauth2Settings, startTokenServer, type TokenServer } from '../../helpers/token-server.js';
import {
  allDeliveries,
  makeEvents,
  publish,
  startPair,
  subscribe,
  uniqueTenant,
} from '../../resilience/support.js';
import { startCluster, stopAll, type Server } from './servers.js';

let nodes: Server[];
let a: Harness;
let b: Harness;
let rx: Receiver;
let ts: TokenServer;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  nodes = await startCluster();
  rx = await startReceiver();
  ts = await startTokenServer();
  [a, b] = await startPair(open, {
    REDIS_CLUSTER_NODES: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    // Direct first attempts off: every delivery also goes through a BullMQ delivery job.
    FANOUT_DIRECT_MAX: '0',
    BREAKER_FAILURES: '5',
    BREAKER_COOLDOWN_MS: '500',
  });
}, 40_000);

afterAll(async () => {
  for (const x of open.reverse()) await x.close().catch(() => undefined);
  await rx?.close();
  await ts?.close();
  await stopAll();
});

const post = <T = Record<string, unknown>>(url: string, body: unknown = {}) =>
  a.request<T>({ method: 'POST', url, body });

describe('on a three-master Redis Cluster', () => {
  it('runs on a cluster client, its keys all in the prefix slot', async () => {
    expect((a.hookline.ctx.redis as unknown as Cluster).isCluster).toBe(true);
    const probe = new Cluster([{ host: '127.0.0.1', port: nodes[0]!.port }]);
    try {
      const slot = await probe.cluster('KEYSLOT', a.config.REDIS_PREFIX);
      const ownersWithKeys: number[] = [];
      for (const n of probe.nodes('master')) if ((await n.dbsize()) > 0) ownersWithKeys.push(n.options.port!);
      // BullMQ's meta keys and the subscription cache exist by now: all on the slot's one master.
      expect(ownersWithKeys).toHaveLength(1);
      const owner = probe.nodes('master').find((n) => n.options.port === ownersWithKeys[0])!;
      expect(await owner.cluster('COUNTKEYSINSLOT', slot)).toBe(await owner.dbsize());
    } finally {
      probe.disconnect();
    }
  });

  it('publishes, fans out to two subscriptions and delivers, retrying a failure', async () => {
    const tenant = uniqueTenant('cl');
    const s1 = await subscribe(a, tenant, `${rx.url}/one`, { rateLimit: { perSecond: 100 }, maxInFlight: 5 });
    const s2 = await subscribe(a, tenant, `${rx.url}/two`);
    let failedOnce = false;
    rx.respond((r) => {
      if (r.path === '/two' && !failedOnce) {
        failedOnce = true;
        return { status: 500 };
      }
      return { status: 200 };
    });
    const events = makeEvents(tenant, 20);
    const ids = await publish(a, events);
    expect(ids).toHaveLength(20);
    // 20 to each, plus the retried one.
    await rx.waitFor(41, { filter: (r) => r.path === '/one' || r.path === '/two', timeoutMs: 20_000 });
    const d2 = await a.until(async () => {
      const list = await allDeliveries(a, s2.id);
      return list.length === 20 && list.every((d) => d.status === 'succeeded') && list;
    });
    expect(d2.filter((d) => d.attempts.length === 2)).toHaveLength(1);
    const d1 = await allDeliveries(a, s1.id);
    expect(d1.map((d) => d.status)).toEqual(Array(20).fill('succeeded'));
    // Idempotency claims (linear-hash buckets computed inside the script) on the cluster too.
    const again = await a.request<{ results: { duplicate: boolean }[] }>({
      method: 'POST',
      url: '/v1/events/batch',
      body: { events: events.slice(0, 3) },
    });
    expect(again.body.results.map((r) => r.duplicate)).toEqual([true, true, true]);
    const event = await a.request({ method: 'GET', url: `/v1/events/${ids[0]}?tenantId=${tenant}` });
    expect(event.status, event.raw).toBe(200);
  });

  it('holds a paused subscription’s deliveries and delivers them on resume', async () => {
    const tenant = uniqueTenant('held');
    const sub = await subscribe(a, tenant, `${rx.url}/held`);
    expect((await post(`/v1/subscriptions/${sub.id}/pause?tenantId=${tenant}`)).status).toBe(200);
    await publish(a, makeEvents(tenant, 5));
    // Held: each one a delayed job listed in the subscription's held set (which resume releases).
    const { redis, keys } = a.hookline.ctx;
    await a.until(async () => (await redis.scard(keys.subHeld(sub.id))) === 5);
    const list = await allDeliveries(a, sub.id);
    expect(list.map((d) => d.status)).toEqual(Array(5).fill('pending'));
    expect(rx.requests.filter((r) => r.path === '/held')).toHaveLength(0);
    expect((await post(`/v1/subscriptions/${sub.id}/resume?tenantId=${tenant}`)).status).toBe(200);
    await rx.waitFor(5, { filter: (r) => r.path === '/held', timeoutMs: 15_000 });
  });

  it('recovers failed deliveries', async () => {
    const tenant = uniqueTenant('rec');
    const sub = await subscribe(a, tenant, `${rx.url}/rec`, { maxRetries: 0 });
    let failing = true;
    rx.respond((r) => ({ status: r.path === '/rec' && failing ? 503 : 200 }));
    const since = new Date(Date.now() - 1000).toISOString();
    await publish(a, makeEvents(tenant, 4));
    await a.until(async () => {
      const list = await allDeliveries(a, sub.id, 'failed');
      return list.length === 4;
    });
    failing = false;
    const res = await post<{ queued: number }>(`/v1/subscriptions/${sub.id}/recover?tenantId=${tenant}`, {
      since,
    });
    expect(res.status, res.raw).toBe(202);
    expect(res.body.queued).toBe(4);
    await a.until(async () => (await allDeliveries(a, sub.id, 'succeeded')).length === 4);
  });

  it('opens the breaker, probes, closes it and releases what it held', async () => {
    const tenant = uniqueTenant('brk');
    const sub = await subscribe(a, tenant, `${rx.url}/brk`, { maxRetries: 20 });
    let failing = true;
    rx.respond((r) => ({ status: r.path === '/brk' && failing ? 500 : 200 }));
    await publish(a, makeEvents(tenant, 10));
    const { redis, keys } = a.hookline.ctx;
    await a.until(async () => Number(await redis.hget(keys.breaker(sub.id), 'o')));
    failing = false;
    await a.until(async () => (await allDeliveries(a, sub.id, 'succeeded')).length === 10);
    expect(await redis.exists(keys.breaker(sub.id))).toBe(0);
  });

  it('supersedes a stale status and authenticates API clients', async () => {
    const tenant = uniqueTenant('stale');
    const sub = await subscribe(a, tenant, `${rx.url}/stale`);
    const auth = await tenantAuth(a, tenant);
    const send = (type: string) =>
      a.request({
        method: 'POST',
        url: '/v1/events',
        headers: auth,
        body: { tenantId: tenant, type, channel: 'sms', messageId: 'm-stale' },
      });
    expect((await send('message.delivered')).status).toBe(202);
    await a.until(async () => (await allDeliveries(a, sub.id, 'succeeded')).length === 1);
    expect((await send('message.sent')).status).toBe(202);
    await a.until(async () => (await allDeliveries(a, sub.id, 'superseded')).length === 1);
    expect(rx.requests.filter((r) => r.path === '/stale')).toHaveLength(1);
  });

  it('shares one cached OAuth2 token between both instances', async () => {
    const tenant = uniqueTenant('oauth');
    const before = ts.count;
    const sub = await subscribe(a, tenant, `${rx.url}/oauth`, {
      authType: 'oauth2',
      oauth2: oauth2Settings(ts),
    });
    await publish(a, makeEvents(tenant, 10));
    const got = await rx.waitFor(10, { filter: (r) => r.path === '/oauth', timeoutMs: 15_000 });
    expect(new Set(got.map((r) => r.headers.authorization))).toEqual(new Set([`Bearer ${ts.issued.at(-1)}`]));
    expect(ts.count - before).toBe(1);
    await a.until(async () => (await allDeliveries(a, sub.id, 'succeeded')).length === 10);
  });

  it('invalidates the other instance’s subscription cache', async () => {
    const tenant = uniqueTenant('cache');
    const sub = await subscribe(a, tenant, `${rx.url}/cache`, { description: 'before' });
    expect((await b.hookline.ctx.subscriptions.get(sub.id))?.description).toBe('before');
    const res = await a.request({
      method: 'PATCH',
      url: `/v1/subscriptions/${sub.id}?tenantId=${tenant}`,
      body: { description: 'after' },
    });
    expect(res.status, res.raw).toBe(200);
    // Without pub/sub on the cluster, b would serve 'before' for a minute (the cache's max age).
    await b.until(
      async () => (await b.hookline.ctx.subscriptions.get(sub.id))?.description === 'after',
      3_000,
    );
  });

  it('serves Bull Board and readiness', async () => {
    const auth = `Basic ${Buffer.from('admin:dev-admin-token').toString('base64')}`;
    const board = await a.request({
      method: 'GET',
      url: '/admin/queues/api/queues',
      headers: { authorization: auth },
    });
    expect(board.status, board.raw.slice(0, 200)).toBe(200);
    expect((await a.request({ method: 'GET', url: '/readyz' })).status).toBe(200);
  });

  it('lets the exported publisher connect to the cluster from the config', async () => {
    const tenant = uniqueTenant('lib');
    await subscribe(a, tenant, `${rx.url}/lib`);
    // No connection given: it opens its own from REDIS_CLUSTER_NODES (REDIS_URL is a plain node).
    const publisher = createPublisher({ config: a.config });
    try {
      const { id } = await publisher.publish({
        tenantId: tenant,
        type: 'message.delivered',
        channel: 'sms',
        messageId: 'm-lib',
      });
      const [got] = await rx.waitFor(1, { filter: (r) => r.path === '/lib', timeoutMs: 10_000 });
      expect(got!.headers['webhook-id']).toBe(id);
    } finally {
      await publisher.close();
    }
  });

  it('ran Hookline’s Lua scripts on the slot’s master', async () => {
    // A script that ran was loaded there (EVALSHA falls back to EVAL once): SCRIPT EXISTS tells.
    const names = scriptNames();
    const shas = names.map((n) => createHash('sha1').update(readLua(n)).digest('hex'));
    const slot = await a.hookline.ctx.redis.cluster('KEYSLOT', a.config.REDIS_PREFIX);
    const ranges = await a.hookline.ctx.redis.cluster('SLOTS');
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to)![2]![1];
    const node = new Redis({ port: owner });
    try {
      const loaded = (await node.script('EXISTS', ...shas)) as number[];
      const ran = names.filter((_, i) => loaded[i] === 1);
      console.log(
        `cluster: ${ran.length} of ${names.length} Lua scripts ran on the slot's master; not exercised: ${names.filter((n) => !ran.includes(n)).join(', ')}`,
      );
      expect(ran.length).toBeGreaterThanOrEqual(15);
    } finally {
      node.disconnect();
    }
  });

  // Last: it leaves the cluster without the slot's master.
  it('answers 503 when the slot’s master is gone', async () => {
    a.hookline.ctx.eventsQueue.on('error', () => undefined);
    a.hookline.ctx.deliveriesQueue.on('error', () => undefined);
    const slot = await a.hookline.ctx.redis.cluster('KEYSLOT', a.config.REDIS_PREFIX);
    const ranges = await a.hookline.ctx.redis.cluster('SLOTS');
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to)![2]![1];
    await nodes.find((n) => n.port === owner)!.kill();
    const startedAt = Date.now();
    const res = await a.request({
      method: 'POST',
      url: '/v1/events',
      body: { tenantId: uniqueTenant('down'), type: 'message.delivered', channel: 'sms', messageId: 'm' },
    });
    expect(res.status, res.raw).toBe(503);
    expect(res.body.code).toBe('unavailable');
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });
});
