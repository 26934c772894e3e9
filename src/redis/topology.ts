// Which Redis a deployment talks to: one node (REDIS_URL), a Sentinel-watched master
// (REDIS_SENTINELS) or a Redis Cluster (REDIS_CLUSTER_NODES). REDIS_URL always brings the
// credentials (ACL user and password), the database and TLS (`rediss://`) that every node shares.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

export interface HostPort {
  host: string;
  port: number;
}

export interface RedisTopology {
  /** `redis://` or `rediss://` URL; with Sentinel or Cluster only its credentials, db and scheme count. */
  url: string;
  /** PEM file of the CA that signed the servers' certificates (rediss:// only). */
  tlsCaFile?: string;
  /** Sentinel addresses; set together with sentinelName. */
  sentinels?: HostPort[];
  sentinelName?: string;
  sentinelPassword?: string;
  /** Seed nodes of a Redis Cluster. */
  clusterNodes?: HostPort[];
}

export type TopologyKind = 'single' | 'sentinel' | 'cluster';

export const topologyKind = (t: RedisTopology): TopologyKind =>
  t.clusterNodes?.length ? 'cluster' : t.sentinels?.length ? 'sentinel' : 'single';

/** The topology the config chooses (the REDIS_* variables, checked together by loadConfig). */
export function topologyOf(config: {
  REDIS_URL: string;
  REDIS_TLS_CA_FILE?: string;
  REDIS_SENTINELS?: HostPort[];
  REDIS_SENTINEL_NAME?: string;
  REDIS_SENTINEL_PASSWORD?: string;
  REDIS_CLUSTER_NODES?: HostPort[];
}): RedisTopology {
  return {
    url: config.REDIS_URL,
    tlsCaFile: config.REDIS_TLS_CA_FILE,
    sentinels: config.REDIS_SENTINELS,
    sentinelName: config.REDIS_SENTINEL_NAME,
    sentinelPassword: config.REDIS_SENTINEL_PASSWORD,
    clusterNodes: config.REDIS_CLUSTER_NODES,
  };
}

/**
 * `host:port`, `[v6]:port`; throws with the reason. The host is a name or an address, the port
 * 1-65535 (no default: a Sentinel listens on 26379, a node on 6379, and guessing wrong is silent).
 */
export function parseHostPort(raw: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(raw.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535)
    throw new Error(`"${raw}", which is not host:port (e.g. 10.0.0.5:26379)`);
  return { host: (m[1] ?? m[2])!, port };
}

/** What REDIS_URL gives every connection, whichever the topology. */
export interface UrlSettings {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls?: ConnectionOptions;
}

export function urlSettings(t: RedisTopology): UrlSettings {
  const u = new URL(t.url);
  const dec = (s: string) => (s ? decodeURIComponent(s) : undefined);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  const tls: ConnectionOptions | undefined =
    u.protocol === 'rediss:' ? (t.tlsCaFile ? { ca: readFileSync(t.tlsCaFile) } : {}) : undefined;
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    // `redis://:password@host` is a password alone (the default user).
    username: dec(u.username),
    password: dec(u.password),
    db: Number.isInteger(db) ? db : 0,
    tls,
  };
}
