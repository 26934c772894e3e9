// BullMQ's 'error' events during a Redis outage (src/pipeline/queue-errors.ts): a Hookline whose
// private redis-server is killed logs each distinct error of its queues and workers once, as a
// structured warning without the password, and nothing raw reaches stderr.
import { EventEmitter } from 'node:events';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { logQueueErrors } from '../../src/pipeline/queue-errors.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { capturedLogger } from '../helpers/log-lines.js';
import { capturePrinted } from '../helpers/printed.js';
import { startServer, stopAll, type Server } from '../redis/topology/servers.js';

const PASSWORD = 'queue-errors-s3cret';
let h: Harness | undefined;
let server: Server;

afterAll(async () => {
  await h?.close();
  await stopAll();
});

interface Line {
  level: number;
  msg: string;
  source?: string;
  error?: { name?: string; code?: string; message?: string };
}

describe('a Redis outage under a running Hookline', () => {
  it('is logged once per distinct error and source, structured, with nothing raw on stderr', async () => {
    server = await startServer([`requirepass ${PASSWORD}`], {
      cliArgs: ['-a', PASSWORD, '--no-auth-warning'],
    });
    const { logger, lines } = capturedLogger<Line>('warn');
    const url = `redis://:${PASSWORD}@127.0.0.1:${server.port}`;
    h = await startHarness({ REDIS_URL: url }, { logger });

    const printed = capturePrinted();
    let queueErrors = 0;
    h.hookline.ctx.deliveriesQueue.on('error', () => queueErrors++);
    try {
      await server.kill();
      const warned = (source: string) => lines.filter((l) => l.level === 40 && l.source === source);
      // Many errors (one per reconnect attempt), few lines.
      await h.until(() => queueErrors >= 5 && warned('delivery worker').length > 0, 15_000);
      const queueLines = warned('deliveries queue');
      expect(queueLines.length).toBeGreaterThan(0);
      const distinct = new Set(
        queueLines.map((l) => `${l.error?.name}|${l.error?.code}|${l.error?.message}`),
      );
      expect(queueLines.length).toBe(distinct.size);
      expect(queueLines.length).toBeLessThan(queueErrors);
      expect(queueLines[0]).toMatchObject({
        msg: expect.stringContaining('deliveries queue error'),
        error: { name: 'Error', message: expect.any(String) },
      });
    } finally {
      printed.restore();
    }
    expect(JSON.stringify(lines)).not.toContain(PASSWORD);
    expect(printed.lines.filter((p) => /\n\s+at |Unhandled error|ECONNREFUSED/.test(p))).toEqual([]);

    // Back on its port, so the harness closes (and cleans up) against a live Redis.
    server = await startServer([`requirepass ${PASSWORD}`], {
      port: server.port,
      cliArgs: ['-a', PASSWORD, '--no-auth-warning'],
    });
  }, 40_000);
});

describe('logQueueErrors', () => {
  it('logs a repeated error again only after the quiet time, and never a URL password', () => {
    const { logger, lines } = capturedLogger<Line>('warn');
    const emitter = new EventEmitter();
    logQueueErrors(emitter, logger, 'test queue', 1_000);
    let now = 1_000_000;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const refused = new Error('cannot reach redis://user:hunter2@10.0.0.1:6379/0');
      for (let i = 0; i < 3; i++) emitter.emit('error', refused);
      emitter.emit('error', new Error("READONLY You can't write against a read only replica."));
      now += 1_000;
      emitter.emit('error', refused);
    } finally {
      clock.mockRestore();
    }
    expect(lines.map((l) => l.error?.message)).toEqual([
      'cannot reach redis://***@10.0.0.1:6379/0',
      "READONLY You can't write against a read only replica.",
      'cannot reach redis://***@10.0.0.1:6379/0',
    ]);
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  });
});
