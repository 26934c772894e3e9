// Shared by the Sentinel failover tests: a master + replica + Sentinel (./servers.ts), Hookline
// through Sentinel with one subscription on a real receiver, a steady publish load, and the
// measurements around Sentinel's +switch-master announcement.
import { Redis } from 'ioredis';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, expect } from 'vitest';
import { startHarness, type Harness } from '../../helpers/harness.js';
import { startReceiver, type Receiver } from '../../helpers/receiver.js';
import { subscribe, uniqueTenant } from '../../resilience/support.js';
import { cli, startSentinelSet, stopAll, type SentinelSet } from './servers.js';

let set: SentinelSet;
let h: Harness;
let rx: Receiver;
let watcher: Redis;
const tenant = uniqueTenant('sentinel');
/** Times of Sentinel's +switch-master announcements, with the new master's port. */
export const switches: { at: number; port: number }[] = [];

/** Starts the set, a receiver and Hookline through Sentinel before the file's tests. */
export function useSentinelHookline(): void {
  beforeAll(async () => {
    set = await startSentinelSet();
    rx = await startReceiver();
    watcher = new Redis({ port: set.sentinel.port });
    watcher.on('error', () => undefined);
    await watcher.subscribe('+switch-master');
    watcher.on('message', (_channel, message: string) => {
      // "<name> <old ip> <old port> <new ip> <new port>"
      switches.push({ at: Date.now(), port: Number(message.split(' ')[4]) });
    });
    h = await startHarness({
      REDIS_SENTINELS: `127.0.0.1:${set.sentinel.port}`,
      REDIS_SENTINEL_NAME: set.name,
    });
    await subscribe(h, tenant, `${rx.url}/hook`);
  }, 30_000);

  afterAll(async () => {
    await h?.close();
    watcher?.disconnect();
    await rx?.close();
    await stopAll();
  });
}

export const sentinelSet = () => set;

export interface Sent {
  id: string;
  sentAt: number;
  answeredAt: number;
  status: number;
}

/** `publishers` loops each publishing one event every `everyMs` until stopped; records each answer. */
export function load(publishers = 3, everyMs = 20) {
  const sent: Sent[] = [];
  let stopped = false;
  let n = 0;
  const tag = Math.random().toString(36).slice(2, 8);
  const loop = async () => {
    while (!stopped) {
      const id = `evt_${tag}_${n++}`;
      const sentAt = Date.now();
      const res = await h.request({
        method: 'POST',
        url: '/v1/events',
        body: { id, tenantId: tenant, type: 'message.delivered', channel: 'sms', messageId: id },
      });
      sent.push({ id, sentAt, answeredAt: Date.now(), status: res.status });
      const wait = everyMs - (Date.now() - sentAt);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };
  const done = Promise.all(Array.from({ length: publishers }, loop));
  return {
    sent,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** The port the producer connection is talking to now (ioredis keeps its socket as `stream`). */
export const producerPort = () => (h.hookline.ctx.redis as unknown as { stream?: Socket }).stream?.remotePort;

export async function until(fn: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const delivered = () => new Set(rx.requests.map((r) => String(r.headers['webhook-id'])));

/**
 * Waits until every event accepted from one second after `announcedAt` has arrived, then gives
 * the rest (accepted around the switch) a few seconds more; returns what never came.
 */
export async function settle(sent: Sent[], announcedAt: number) {
  const accepted = sent.filter((s) => s.status === 202);
  const mustArrive = accepted.filter((s) => s.sentAt >= announcedAt + 1000);
  expect(mustArrive.length).toBeGreaterThan(20);
  await until(() => mustArrive.every((s) => delivered().has(s.id)), 20_000, 'post-switch events delivered');
  const start = Date.now();
  await until(
    () => accepted.every((s) => delivered().has(s.id)) || Date.now() - start > 3_000,
    5_000,
    'rest',
  );
  const got = delivered();
  const lost = accepted.filter((s) => !got.has(s.id));
  // A 202 can also lose state while its delivery still went out (a worker on the old master sent
  // it): the event's record, written to the old master after the promotion, is gone.
  const { redis, keys } = h.hookline.ctx;
  const pipe = redis.pipeline();
  for (const s of accepted) pipe.exists(keys.event(tenant, s.id));
  const exists = (await pipe.exec())!.map(([, n]) => n);
  const unrecorded = accepted.filter((_, i) => exists[i] === 0);
  const span = (list: Sent[]) =>
    list.length === 0
      ? 'none'
      : `${list.length}, answered ${Math.min(...list.map((s) => s.answeredAt - announcedAt))}…${Math.max(...list.map((s) => s.answeredAt - announcedAt))} ms from the announcement`;
  return {
    accepted,
    lost,
    /** The 202s lost or left without their record. */
    lostSends: [...lost, ...unrecorded],
    lostAt: [...lost, ...unrecorded].map((s) => s.answeredAt - announcedAt),
    summary: `202s never delivered: ${span(lost)}; 202s delivered but without a record: ${span(unrecorded)}`,
  };
}

export async function masterPort(): Promise<number> {
  const [, port] = (await cli(set.sentinel.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', set.name)).split(
    '\n',
  );
  return Number(port);
}

/**
 * SENTINEL FAILOVER under load (after `prepare` ran on the master): when Sentinel announced it,
 * when Hookline was on the new master, when the old master was demoted, and what was answered.
 */
export async function forcedFailover(prepare: (masterPort: number) => Promise<void> = async () => undefined) {
  const oldPort = await masterPort();
  expect(producerPort()).toBe(oldPort);
  const l = load();
  await until(() => l.sent.filter((s) => s.status === 202).length >= 50, 10_000, 'steady load');
  const old = new Redis({ port: oldPort });
  old.on('error', () => undefined);
  let demotedAt = 0;
  const watchRole = setInterval(() => {
    void old.role().then((r) => {
      if (!demotedAt && r[0] === 'slave') demotedAt = Date.now();
    });
  }, 5);
  const before = switches.length;
  const commandAt = Date.now();
  await prepare(oldPort);
  await cli(set.sentinel.port, 'SENTINEL', 'FAILOVER', set.name);
  await until(() => switches.length > before, 15_000, '+switch-master');
  const announced = switches.at(-1)!;
  await until(() => producerPort() === announced.port, 5_000, 'Hookline on the new master');
  const followedAt = Date.now();
  await until(() => demotedAt > 0, 15_000, 'old master demoted');
  clearInterval(watchRole);
  old.disconnect();
  await until(() => Date.now() > announced.at + 2_500, 5_000, 'load after the switch');
  await l.stop();

  return { l, commandAt, announced, followedAt, demotedAt, ...(await settle(l.sent, announced.at)) };
}
