// One tenant's big call never holds Redis for all of itself at once (issue 18, B6 case (e)): its
// idempotency claims go in commands of CLAIM_CHUNK ids and its fan-out's records in commands of
// PENDING_SLICE deliveries, each sent once the one before is answered, so another tenant's
// command sent meanwhile runs between them. Watched with MONITOR on the real server, filtered to
// this test's key prefix (on a plain socket: test/helpers/redis-monitor.ts says why).
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { CLAIM_CHUNK } from '../../src/pipeline/publisher.js';
import { keyspace } from '../../src/redis/client.js';
import { readLua } from '../../src/redis/scripts.js';
import { createPublisher } from '../../src/services/publisher.js';
import { PENDING_SLICE } from '../../src/store/delivery-store.js';
import { deleteKeys, startHarness } from '../helpers/harness.js';
import { startReceiver } from '../helpers/receiver.js';
import { startMonitor } from '../helpers/redis-monitor.js';
import { makeEvents, publish, subscribe, uniqueTenant } from '../resilience/support.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

/**
 * The arguments of every run of script `name` whose first key is `firstKey`, in the order run;
 * `settled()` resolves once the monitor has shown every command run before it was called.
 */
async function watchScript(url: string, name: string, firstKey: string) {
  const lua = readLua(name);
  const sha = createHash('sha1').update(lua).digest('hex');
  const head = lua.slice(0, 60);
  const other = new Redis(url);
  open.push({ close: async () => other.disconnect() });
  const seen: string[][] = [];
  const marks = new Set<string>();
  const monitor = await startMonitor(url, (args) => {
    const cmd = args[0]?.toLowerCase();
    // A connection's first run of a script is an EVAL of its text.
    const ours = (cmd === 'evalsha' && args[1] === sha) || (cmd === 'eval' && args[1]!.startsWith(head));
    if (ours && args[3] === firstKey) seen.push(args);
    if (cmd === 'echo') marks.add(args[1]!);
  });
  open.push(monitor);
  return Object.assign(seen, {
    /** The monitor's feed lags the commands; an ECHO run after them marks where they end. */
    async settled() {
      const mark = `settled-${Math.random()}`;
      await other.echo(mark);
      const deadline = Date.now() + 5_000;
      while (!marks.has(mark) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(marks.has(mark)).toBe(true);
    },
  });
}

describe('big calls are cut into slices of Redis work', () => {
  it('claims a batch of 1,000 ids in commands of CLAIM_CHUNK, one after another, another tenant’s claim between them', async () => {
    const config = testConfig();
    const keys = keyspace(config.REDIS_PREFIX);
    const claims = await watchScript(config.REDIS_URL, 'claim-ids', keys.idemSince());
    const publisher = createPublisher({ redisUrl: config.REDIS_URL, prefix: config.REDIS_PREFIX });
    open.push({
      close: async () => {
        await publisher.close();
        await deleteKeys(config.REDIS_URL, config.REDIS_PREFIX);
      },
    });
    const [a, b] = [uniqueTenant('big'), uniqueTenant('small')];
    const big = publisher.publishBatch(makeEvents(a, 1_000));
    // Another tenant publishes once the big call's first claim command has run.
    const deadline = Date.now() + 10_000;
    while (!claims.some((c) => c.includes(a)) && Date.now() < deadline)
      await new Promise((r) => setImmediate(r));
    const small = await publisher.publishBatch(makeEvents(b, 1));
    expect((await big).filter((r) => !r.duplicate)).toHaveLength(1_000);
    expect(small[0]!.duplicate).toBe(false);
    await claims.settled();

    const ofA = claims.filter((c) => c.includes(a));
    const idsOf = (c: string[]) => c.filter((x) => x === a).length;
    expect(ofA).toHaveLength(Math.ceil(1_000 / CLAIM_CHUNK));
    for (const c of ofA) expect(idsOf(c)).toBeLessThanOrEqual(CLAIM_CHUNK);
    expect(ofA.reduce((n, c) => n + idsOf(c), 0)).toBe(1_000);
    // The small tenant's claim did not wait for the whole big call: it ran before its last slice.
    const bAt = claims.findIndex((c) => c.includes(b));
    expect(bAt).toBeGreaterThan(-1);
    expect(bAt).toBeLessThan(claims.lastIndexOf(ofA.at(-1)!));
  });

  it('writes a fan-out of 120 deliveries in commands of at most PENDING_SLICE, and delivers all of them', async () => {
    const rx = await startReceiver();
    open.push(rx);
    const h = await startHarness();
    open.push(h);
    const keys = keyspace(h.config.REDIS_PREFIX);
    const writes = await watchScript(h.config.REDIS_URL, 'add-pending', keys.history());
    const tenant = uniqueTenant('fan');
    await subscribe(h, tenant, `${rx.url}/fan`);
    await publish(h, makeEvents(tenant, 120));
    await rx.waitFor(120, { timeoutMs: 20_000 });
    await writes.settled();

    // add-pending's keys: the history stream, then per event 3 and per delivery 2 (one each here).
    const deliveries = writes.map((w) => (Number(w[2]) - 1) / 5);
    expect(deliveries).toEqual([PENDING_SLICE, PENDING_SLICE, 120 - 2 * PENDING_SLICE]);
  });
});
