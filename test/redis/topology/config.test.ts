// The REDIS_* topology variables: each parsed alone, then bad combinations refused at start with
// a message naming the variables.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { topologyKind, topologyOf, urlSettings } from '../../../src/redis/topology.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('Redis topology configuration', () => {
  it('defaults to one node at REDIS_URL', () => {
    const t = topologyOf(loadConfig({}));
    expect(topologyKind(t)).toBe('single');
    expect(urlSettings(t)).toMatchObject({ host: '127.0.0.1', port: 6379, db: 0, tls: undefined });
  });

  it('reads Sentinel addresses, name and password', () => {
    const c = loadConfig({
      REDIS_SENTINELS: '10.0.0.5:26379, sentinel-b:26380,[::1]:26381',
      REDIS_SENTINEL_NAME: 'mymaster',
      REDIS_SENTINEL_PASSWORD: 's3cret',
      REDIS_URL: 'redis://hookline:pw%40x@ignored:6379/2',
    });
    const t = topologyOf(c);
    expect(topologyKind(t)).toBe('sentinel');
    expect(t.sentinels).toEqual([
      { host: '10.0.0.5', port: 26379 },
      { host: 'sentinel-b', port: 26380 },
      { host: '::1', port: 26381 },
    ]);
    expect(t).toMatchObject({ sentinelName: 'mymaster', sentinelPassword: 's3cret' });
    // The ACL user and password (URL-decoded) and the database come from REDIS_URL.
    expect(urlSettings(t)).toMatchObject({ username: 'hookline', password: 'pw@x', db: 2 });
  });

  it('reads cluster nodes, TLS from rediss:// and the CA file', () => {
    const ca = new URL('../../../package.json', import.meta.url).pathname;
    const c = loadConfig({
      REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001',
      REDIS_URL: 'rediss://default:pw@cfg.example:6380',
      REDIS_TLS_CA_FILE: ca,
    });
    const t = topologyOf(c);
    expect(topologyKind(t)).toBe('cluster');
    expect(t.clusterNodes).toHaveLength(2);
    expect(urlSettings(t).tls?.ca).toBeInstanceOf(Buffer);
  });

  it.each([
    [{ REDIS_SENTINELS: '127.0.0.1:26379' }, /REDIS_SENTINELS requires REDIS_SENTINEL_NAME/],
    [{ REDIS_SENTINEL_NAME: 'm' }, /REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not/],
    [{ REDIS_SENTINEL_PASSWORD: 'p' }, /REDIS_SENTINEL_PASSWORD is set but REDIS_SENTINELS is not/],
    [
      { REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_NAME: 'm' },
      /REDIS_CLUSTER_NODES and REDIS_SENTINELS are set: choose one/,
    ],
    [
      { REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_URL: 'redis://h:6379/3' },
      /REDIS_URL names a database other than 0/,
    ],
    [
      { REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_PREFIX: 'hookline' },
      /REDIS_PREFIX must hold a hash tag/,
    ],
    [{ REDIS_TLS_CA_FILE: '/etc/hostname' }, /REDIS_TLS_CA_FILE is set but REDIS_URL is not rediss:/],
    [
      { REDIS_TLS_CA_FILE: '/nonexistent/ca.pem', REDIS_URL: 'rediss://h:6380' },
      /REDIS_TLS_CA_FILE must name a readable file/,
    ],
    [
      { REDIS_SENTINELS: '10.0.0.5', REDIS_SENTINEL_NAME: 'm' },
      /REDIS_SENTINELS has "10.0.0.5", which is not host:port/,
    ],
    [
      { REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:99999' },
      /REDIS_CLUSTER_NODES has "127.0.0.1:99999", which is not host:port/,
    ],
    [{ REDIS_CLUSTER_NODES: 'http://x:1' }, /REDIS_CLUSTER_NODES has .*, which is not host:port/],
    [{ REDIS_URL: 'redis://h:6379/zero' }, /REDIS_URL names no database number/],
  ])('refuses %o', (env, message) => {
    const found = problems(env);
    expect(found.join('\n')).toMatch(message);
  });

  it('keeps passwords out of its messages', () => {
    const found = problems({ REDIS_URL: 'redis://u:hunter2@h:6379/x', REDIS_SENTINEL_NAME: 'm' }).join('\n');
    expect(found).toMatch(/REDIS_URL/);
    expect(found).not.toContain('hunter2');
  });
});
