// A Sentinel restart under a Sentinel connection (src/redis/client.ts): the failover detector's
// own Sentinel connection retries and subscribes again, and nothing is printed as an unhandled
// ioredis error event while the Sentinel is away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, type Redis } from '../../../src/redis/client.js';
import { capturePrinted } from '../../helpers/printed.js';
import { cli, startSentinelSet, stopAll, stopSentinel, type SentinelSet } from './servers.js';
import { until } from './failover.js';

let set: SentinelSet;
let conn: Redis;

beforeAll(async () => {
  set = await startSentinelSet();
}, 30_000);
afterAll(async () => {
  conn?.disconnect();
  await stopAll();
});

const subscribedOn = async (port: number) => (await cli(port, 'CLIENT', 'LIST')).includes(' sub=1 ');

describe('a Sentinel restart', () => {
  it('prints no unhandled error event, and the failover detector subscribes again', async () => {
    const printed = capturePrinted();
    try {
      conn = createRedis(
        {
          url: 'redis://127.0.0.1',
          sentinels: [{ host: '127.0.0.1', port: set.sentinel.port }],
          sentinelName: set.name,
        },
        'producer',
      );
      await new Promise((resolve) => conn.once('failoverSubscribed', resolve));
      await until(() => subscribedOn(set.sentinel.port), 5_000, 'detector subscribed');

      // Down long enough for the detector's connection to fail a few reconnects.
      let retries = 0;
      conn.on('sentinelReconnecting', () => retries++);
      const restart = await stopSentinel(set);
      await until(() => retries >= 3, 5_000, 'detector retried');
      await restart();
      await until(() => subscribedOn(set.sentinel.port), 5_000, 'detector subscribed again');
      expect(await conn.ping()).toBe('PONG');
    } finally {
      printed.restore();
    }
    expect(printed.lines.filter((line) => /Unhandled error event/.test(line))).toEqual([]);
  }, 30_000);
});
