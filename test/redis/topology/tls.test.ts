// A `rediss://` REDIS_URL with an ACL user, against a redis-server serving TLS only with a
// certificate from a private CA made here with openssl: refused without REDIS_TLS_CA_FILE,
// accepted with it, and Hookline publishes and delivers through it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../../src/config.js';
import { createHookline, type Hookline } from '../../../src/hookline.js';
import { createRedis, type Redis } from '../../../src/redis/client.js';
import { startReceiver, type Receiver } from '../../helpers/receiver.js';
import { startServer, stopAll, type Server } from './servers.js';

let dir: string;
let server: Server;
let ca: string;
const PASSWORD = 'hl-tls-test-pw';
const url = () => `rediss://hookline:${PASSWORD}@127.0.0.1:${server.port}`;
const open: Redis[] = [];

/** A CA, and a server certificate it signs for 127.0.0.1 / localhost. */
function makeCertificates(): { ca: string; cert: string; key: string } {
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=Hookline test CA',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
  );
  ssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
  );
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl(
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    f('san.ext'),
    '-out',
    f('server.pem'),
  );
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

/** The first error a fresh connection reports, or 'ready'. */
function outcome(c: Redis): Promise<string> {
  open.push(c);
  return new Promise((resolve) => {
    c.once('ready', () => resolve('ready'));
    c.once('error', (err: Error & { code?: string }) => resolve(err.code ?? err.message));
  });
}

// The CA and certificates are made with openssl; without it there is nothing to test against.
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe.skipIf(!hasOpenssl)('rediss:// with an ACL user', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hl-tls-'));
    const files = makeCertificates();
    ca = files.ca;
    server = await startServer(
      [
        `tls-cert-file ${files.cert}`,
        `tls-key-file ${files.key}`,
        `tls-ca-cert-file ${files.ca}`,
        'tls-auth-clients no',
        // An ACL user with what Hookline and BullMQ use; the default user is off.
        `user hookline on >${PASSWORD} ~* &* +@all -@dangerous +info +client|setname +client|getname +client|list`,
        'user default off',
      ],
      {
        tls: true,
        cliArgs: [
          '--tls',
          '--cacert',
          files.ca,
          '--user',
          'hookline',
          '--pass',
          PASSWORD,
          '--no-auth-warning',
        ],
      },
    );
  }, 30_000);

  afterAll(async () => {
    for (const c of open) c.disconnect();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a server certificate from a CA it was not given', async () => {
    expect(await outcome(createRedis(url(), 'producer'))).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
  });

  it('connects as the ACL user with REDIS_TLS_CA_FILE', async () => {
    const c = createRedis({ url: url(), tlsCaFile: ca }, 'producer');
    expect(await outcome(c)).toBe('ready');
    expect(await c.call('ACL', 'WHOAMI')).toBe('hookline');
    const wrong = createRedis({ url: url().replace(PASSWORD, 'nope'), tlsCaFile: ca }, 'producer');
    expect(await outcome(wrong)).toMatch(/WRONGPASS/);
  });

  it('runs Hookline through it: publish, fan-out, delivery', async () => {
    let hookline: Hookline | undefined;
    let rx: Receiver | undefined;
    try {
      rx = await startReceiver();
      hookline = await createHookline(testConfig({ REDIS_URL: url(), REDIS_TLS_CA_FILE: ca }));
      const app = hookline.app!;
      const auth = { authorization: 'Bearer dev-admin-token' };
      const sub = await app.inject({
        method: 'POST',
        url: '/v1/subscriptions?tenantId=t_tls',
        headers: auth,
        payload: { webhookUrl: `${rx.url}/tls`, events: ['message.*'] },
      });
      expect(sub.statusCode, sub.body).toBe(201);
      const res = await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: auth,
        payload: { tenantId: 't_tls', type: 'message.delivered', channel: 'sms', messageId: 'm1' },
      });
      expect(res.statusCode, res.body).toBe(202);
      const [got] = await rx.waitFor(1, { timeoutMs: 15_000 });
      expect(got!.headers['webhook-id']).toBe(JSON.parse(res.body).id);
    } finally {
      await hookline?.close();
      await rx?.close();
    }
  }, 30_000);
});
