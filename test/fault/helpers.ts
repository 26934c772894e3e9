// Fault-test helpers: worker processes started from the real entry point, a Redis server of the
// test's own (AOF on, loopback, temp dir), and a counting receiver that can go down and come back.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { scanKeys, startHarness, type Harness } from '../helpers/harness.js';
import { subscribe, uniqueTenant } from '../resilience/support.js';

const ROOT = resolve(import.meta.dirname, '../..');

export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Starts `src/main-worker.ts` (ROLE=worker) as a child process; resolves once its workers run. */
export async function startWorker(env: Record<string, string>, timeoutMs = 30_000): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main-worker.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker not ready in ${timeoutMs} ms:\n${out.slice(-2000)}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(-200_000);
      if (out.includes('Hookline workers running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-200_000)));
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`worker exited early (${code ?? signal}):\n${out.slice(-2000)}`));
    });
  });
  await ready;
  return { child, exited, output: () => out };
}

/** Kills a worker if it still runs (test clean-up). */
export async function stopWorker(w: WorkerProcess | undefined): Promise<void> {
  if (!w || w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGKILL');
  await w.exited;
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** Stops it: SIGKILL (every write was fsynced already: appendfsync always). */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its directory. */
  destroy(): Promise<void>;
}

/** A private redis-server on 127.0.0.1 with AOF (appendfsync always) in a temp directory. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hookline-redis-'));
  let proc: ChildProcess | undefined;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
  ];
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async start() {
      proc = spawn('/usr/bin/redis-server', [...args, '--dir', dir, '--save', ''], { stdio: 'ignore' });
      const probe = new Redis({
        port,
        host: '127.0.0.1',
        lazyConnect: true,
        retryStrategy: () => 50,
        maxRetriesPerRequest: null,
      });
      const deadline = Date.now() + 15_000;
      try {
        for (;;) {
          try {
            await probe.connect().catch(() => undefined);
            const info = await probe.info('persistence');
            if (/loading:0/.test(info)) return;
          } catch {
            // not up yet
          }
          if (Date.now() > deadline) throw new Error('redis-server did not start');
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        probe.disconnect();
      }
    },
    async kill() {
      const p = proc;
      if (!p || p.exitCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    },
    async destroy() {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

export type Mode = 'ok' | 'fail' | 'hang';

export interface CountingReceiver {
  url: string;
  /** webhook-id of every request, in arrival order. */
  ids: string[];
  /** Arrival time of every request. */
  times: number[];
  /** webhook-ids answered 2xx. */
  delivered: Set<string>;
  mode: Mode | ((id: string, n: number, path: string) => Mode);
  /** Resolves once `n` distinct webhook-ids were answered 2xx. */
  waitDelivered(n: number, timeoutMs: number): Promise<void>;
  /** Closes the port (connections are refused) / listens on the same port again. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/** A receiver that counts deliveries by webhook-id, answering per `mode`. */
export async function startCountingReceiver(delayMs = 0): Promise<CountingReceiver> {
  const waiters = new Set<() => void>();
  const perId = new Map<string, number>();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const id = String(req.headers['webhook-id'] ?? '');
      const n = (perId.get(id) ?? 0) + 1;
      perId.set(id, n);
      rx.ids.push(id);
      rx.times.push(Date.now());
      const mode = typeof rx.mode === 'function' ? rx.mode(id, n, req.url ?? '/') : rx.mode;
      if (mode === 'hang') return;
      const answer = () => {
        if (mode === 'ok') rx.delivered.add(id);
        res.writeHead(mode === 'ok' ? 200 : 503).end(mode);
        for (const w of waiters) w();
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
  };
  let server: Server = createServer(handle);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const rx: CountingReceiver = {
    url: `http://127.0.0.1:${port}`,
    ids: [],
    times: [],
    delivered: new Set(),
    mode: 'ok',
    waitDelivered(n, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (rx.delivered.size >= n) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${rx.delivered.size} of ${n} delivered within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async down() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
    async up() {
      server = createServer(handle);
      server.keepAliveTimeout = 60_000;
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  return rx;
}

/** The environment a worker child needs to join a harness (same Redis, same prefix). */
export function workerEnv(
  config: { REDIS_URL: string; REDIS_PREFIX: string },
  extra: Record<string, string> = {},
) {
  return {
    NODE_ENV: 'test',
    REDIS_URL: config.REDIS_URL,
    REDIS_PREFIX: config.REDIS_PREFIX,
    ALLOW_HTTP_WEBHOOKS: 'true',
    ALLOWED_PRIVATE_CIDRS: '127.0.0.1/32,::1/128',
    RETRY_BASE_MS: '200',
    RETRY_MAX_DELAY_MS: '2000',
    ...extra,
  };
}

/**
 * For a file whose test kills worker children: registers an afterAll that stops the workers, then
 * closes the harness and receiver that `start` opened.
 */
export function workerFaultRun() {
  const workers: WorkerProcess[] = [];
  let api: Harness | undefined;
  let rx: CountingReceiver | undefined;
  afterAll(async () => {
    for (const w of workers) await stopWorker(w);
    await api?.close();
    await rx?.close();
  });
  return {
    /** The API here (workers off), a counting receiver subscribed at `path` for a new tenant, one worker child. */
    async start(opts: {
      receiverDelayMs: number;
      tenant: string;
      path: string;
      env: Record<string, string>;
    }) {
      api = await startHarness({}, { workers: false });
      rx = await startCountingReceiver(opts.receiverDelayMs);
      const tenant = uniqueTenant(opts.tenant);
      await subscribe(api, tenant, `${rx.url}${opts.path}`);
      const env = workerEnv(api.config, opts.env);
      workers.push(await startWorker(env));
      return { api, rx, tenant, env, workers };
    },
  };
}

/** Waits until a worker's output (stdout and stderr) holds `text`; answers the output then. */
export async function waitForOutput(w: WorkerProcess, text: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = w.output();
    if (out.includes(text)) return out;
    if (w.child.exitCode !== null || w.child.signalCode !== null)
      throw new Error(`worker exited before logging ${JSON.stringify(text)}:\n${out.slice(-2000)}`);
    if (Date.now() > deadline)
      throw new Error(`worker did not log ${JSON.stringify(text)} in ${timeoutMs} ms:\n${out.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One unlabelled metric's value from a process's `GET /metrics` (METRICS_PORT); undefined when absent. */
export async function scrapeMetric(port: number, name: string): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/**
 * What Redis still holds of delivery records and events under a prefix (with DATABASE_URL, none
 * once every delivery ended and moved): delivery keys (`dlv:`), event copies (`evt:`) and the
 * entries of the history outbox.
 */
export async function historyLeftovers(
  redis: Redis,
  prefix: string,
): Promise<{ deliveryKeys: string[]; eventKeys: string[]; outbox: number }> {
  const deliveryKeys: string[] = [];
  const eventKeys: string[] = [];
  for await (const keys of scanKeys(redis, prefix))
    for (const k of keys) {
      if (k.startsWith(`${prefix}:dlv:`)) deliveryKeys.push(k);
      if (k.startsWith(`${prefix}:evt:`)) eventKeys.push(k);
    }
  return { deliveryKeys, eventKeys, outbox: await redis.xlen(`${prefix}:history`) };
}
