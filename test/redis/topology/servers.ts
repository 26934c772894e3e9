// Throwaway redis-server processes for the topology tests: single nodes, a three-master Cluster,
// a master + replica + Sentinel, each on free loopback ports in a temp dir, stopped by stopAll.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

export interface Server {
  port: number;
  dir: string;
  proc: ChildProcess;
  /** Kills the process (SIGKILL: no shutdown save, as a crashed machine). */
  kill(): Promise<void>;
}

const started: Server[] = [];

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A free loopback port; `busOffset` also wants port + offset free (a cluster node's bus port). */
export async function freePort(busOffset = 0): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    if (busOffset === 0) return port;
    if (port + busOffset < 65536 && (await portFree(port + busOffset))) return port;
  }
}

async function waitFor(fn: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout.trim();
}

/** Starts `redis-server <conf> [extra args]` in a fresh temp dir and waits until it answers PING. */
export async function startServer(
  conf: string[],
  opts: { port?: number; sentinel?: boolean; tls?: boolean; cliArgs?: string[] } = {},
): Promise<Server> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'hl-redis-'));
  const file = join(dir, 'redis.conf');
  // With tls, the port serves TLS only (no plain port).
  const ports = opts.tls ? ['port 0', `tls-port ${port}`] : [`port ${port}`];
  writeFileSync(
    file,
    [...ports, 'bind 127.0.0.1', `dir ${dir}`, 'save ""', 'appendonly no', ...conf].join('\n') + '\n',
  );
  const proc = spawn('redis-server', [file, ...(opts.sentinel ? ['--sentinel'] : [])], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const server: Server = {
    port,
    dir,
    proc,
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    },
  };
  started.push(server);
  await waitFor(
    async () => (await cli(port, ...(opts.cliArgs ?? []), 'PING')) === 'PONG',
    `redis-server on ${port}`,
  );
  return server;
}

/** Stops every server started here and removes their directories. */
export async function stopAll(): Promise<void> {
  for (const s of started.splice(0)) {
    await s.kill();
    rmSync(s.dir, { recursive: true, force: true });
  }
}

/** Three masters, all 16384 slots assigned, every node reporting cluster_state:ok. */
export async function startCluster(): Promise<Server[]> {
  const nodes: Server[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort(10_000);
    nodes.push(
      await startServer(
        ['cluster-enabled yes', 'cluster-config-file nodes.conf', 'cluster-node-timeout 2000'],
        {
          port,
        },
      ),
    );
  }
  await run('redis-cli', [
    '--cluster',
    'create',
    ...nodes.map((n) => `127.0.0.1:${n.port}`),
    '--cluster-yes',
  ]);
  for (const n of nodes)
    await waitFor(
      async () => (await cli(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
      'cluster ok',
    );
  return nodes;
}

export interface SentinelSet {
  master: Server;
  replica: Server;
  sentinel: Server;
  name: string;
}

/** A master, a replica of it, and one Sentinel watching them (quorum 1, quick to act). */
export async function startSentinelSet(): Promise<SentinelSet> {
  const name = 'hlmaster';
  const master = await startServer([]);
  const replica = await startServer([`replicaof 127.0.0.1 ${master.port}`]);
  await waitFor(
    async () => (await cli(replica.port, 'INFO', 'replication')).includes('master_link_status:up'),
    'replica in sync',
  );
  const sentinel = await startServer(sentinelConf(name, master.port), { sentinel: true });
  // Sentinel must have found the replica before it can fail over to it.
  await waitFor(async () => {
    const r = new Redis({ port: sentinel.port, lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      const replicas = (await r.call('SENTINEL', 'REPLICAS', name)) as string[][];
      return replicas.length === 1;
    } finally {
      r.disconnect();
    }
  }, 'sentinel sees the replica');
  return { master, replica, sentinel, name };
}

const sentinelConf = (name: string, masterPort: number) => [
  `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
  `sentinel down-after-milliseconds ${name} 1000`,
  `sentinel failover-timeout ${name} 10000`,
  `sentinel parallel-syncs ${name} 1`,
];

/**
 * Kills the set's Sentinel; the returned function starts a new one on its port watching the
 * master (as a restarted Sentinel would) and stores it in the set.
 */
export async function stopSentinel(set: SentinelSet): Promise<() => Promise<void>> {
  await set.sentinel.kill();
  return async () => {
    set.sentinel = await startServer(sentinelConf(set.name, set.master.port), {
      port: set.sentinel.port,
      sentinel: true,
    });
  };
}
