// The address policy's edges: the allowlist CIDR parser, the name every refusal gives, the
// non-unicast fallback, the refusal error and the guarded lookup. Pure: no sockets, no DNS.
import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  blockReason,
  createGuardedLookup,
  createSsrfPolicy,
  createSsrfSafeConnect,
  isLocalhostName,
  isSsrfBlockedError,
  parseCidr,
  resolveAllowed,
  SsrfBlockedError,
  type SsrfLookup,
} from '../../src/delivery/ssrf.js';
import { DeliveryError } from '../../src/delivery/errors.js';

const none = createSsrfPolicy();
const cidr = (text: string) => {
  const [ip, bits] = parseCidr(text);
  return `${ip.toString()}/${bits} ${ip.kind()}`;
};

describe('parseCidr (ALLOWED_PRIVATE_CIDRS entries)', () => {
  it.each([
    ['0.0.0.0/0', '0.0.0.0/0 ipv4'],
    ['10.0.0.0/8', '10.0.0.0/8 ipv4'],
    ['127.0.0.1/32', '127.0.0.1/32 ipv4'],
    [' 10.1.2.3/16 ', '10.1.2.3/16 ipv4'],
    ['10.0.0.0/08', '10.0.0.0/8 ipv4'],
    ['::/0', '::/0 ipv6'],
    ['::1/128', '::1/128 ipv6'],
    ['fd00::/8', 'fd00::/8 ipv6'],
    ['2001:db8::/33', '2001:db8::/33 ipv6'],
    // IPv4-mapped ranges of /96 and longer are stored as the IPv4 range they hold.
    ['::ffff:127.0.0.0/104', '127.0.0.0/8 ipv4'],
    ['::ffff:0:0/96', '0.0.0.0/0 ipv4'],
    ['::ffff:10.0.0.1/128', '10.0.0.1/32 ipv4'],
    // Shorter ones reach beyond the mapped block: kept as IPv6.
    ['::ffff:0:0/95', '::ffff:0:0/95 ipv6'],
  ])('%j is %s', (text, parsed) => {
    expect(cidr(text)).toBe(parsed);
  });

  it.each([
    '',
    '/8',
    'nope',
    '10.0.0.0',
    '10.0.0.0/',
    '10.0.0.0/33',
    '10.0.0.0/100',
    '::1/129',
    '::1/1280',
    '10.0.0.0/8/8',
    'x/10.0.0.0/8',
    '10.0.0.0/-1',
    '10.0.0.0/+8',
    '10.0.0.0/ 8',
    '10.0.0.0/8e0',
    '10.0.0.0/0x8',
    '10.0.0.0/8.0',
    '10.0.0.0 /8',
    '0x7f000001/32',
    '127.1/32',
    '010.0.0.0/8',
    '[::1]/128',
    'localhost/32',
  ])('refuses %j', (text) => {
    expect(() => parseCidr(text)).toThrow(
      `"${text}" is not a CIDR range (expected e.g. 127.0.0.0/8 or ::1/128)`,
    );
  });

  it('is what createSsrfPolicy stores, frozen', () => {
    const policy = createSsrfPolicy({ allowedCidrs: ['10.0.0.0/8', '::ffff:192.168.0.0/112'] });
    expect(policy.allowedCidrs.map(([ip, bits]) => `${ip.toString()}/${bits}`)).toEqual([
      '10.0.0.0/8',
      '192.168.0.0/16',
    ]);
    expect(Object.isFrozen(policy.allowedCidrs)).toBe(true);
    expect(createSsrfPolicy({}).allowedCidrs).toEqual([]);
  });
});

describe('blockReason names every range', () => {
  it.each([
    ['0.0.0.1', 'this network'],
    ['10.0.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.0.1', 'private'],
    ['100.64.0.1', 'CGNAT'],
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['192.0.0.1', 'IETF protocol assignments'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.1', 'documentation'],
    ['203.0.113.1', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['2001:2::1', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.254', 'reserved'],
    ['::', 'unspecified'],
    ['fc00::1', 'unique local'],
    ['fd12::1', 'unique local'],
    ['fec0::1', 'site-local'],
    ['100::1', 'discard'],
    ['2001::1', 'Teredo'],
    ['64:ff9b:1::1', 'local-use NAT64'],
  ])('%s: %s', (ip, reason) => {
    expect(blockReason(ip, none)).toBe(reason);
  });

  // Not in the named list: refused with the name ipaddr.js gives, so a gap in the list fails closed.
  it.each([
    ['192.31.196.1', 'as112'],
    ['192.175.48.1', 'as112'],
    ['192.52.193.1', 'amt'],
    ['2001:4:112::1', 'as112v6'],
    ['2001:20::1', 'orchid2'],
    ['2001:10::1', 'deprecatedOrchid'],
    ['5f00::1', 'segmentRouting'],
    ['::ffff:0:808:808', 'rfc6145'],
  ])('%s is not unicast: %s', (ip, reason) => {
    expect(blockReason(ip, none)).toBe(reason);
  });

  it.each(['4000::1', '::a00:1', 'e000::1', '1000::1'])(
    '%s is IPv6 unicast outside 2000::/3: reserved',
    (ip) => {
      expect(blockReason(ip, none)).toBe('reserved');
    },
  );

  it.each(['1.1.1.1', '2000::1', '3ffe:ffff::1', '2606:4700::1'])('%s is public', (ip) => {
    expect(blockReason(ip, none)).toBeNull();
  });

  it('judges embedded IPv4 addresses by the address they carry', () => {
    expect(blockReason('::ffff:172.16.5.4', none)).toBe('IPv4-mapped 172.16.5.4, private');
    expect(blockReason('64:ff9b::c0a8:1fe', none)).toBe('NAT64 192.168.1.254, private');
    expect(blockReason('2002:a9fe:a9fe::', none)).toBe('6to4 169.254.169.254, link-local');
    expect(blockReason('2002:ac10:0504::', none)).toBe('6to4 172.16.5.4, private');
    expect(blockReason('64:ff9b::0808:0404', none)).toBeNull();
  });

  it('an allowlisted range is judged before anything else, of its own family only', () => {
    const policy = createSsrfPolicy({ allowedCidrs: ['172.16.0.0/12', 'fd00::/8'] });
    expect(blockReason('172.16.5.4', policy)).toBeNull();
    expect(blockReason('::ffff:172.16.5.4', policy)).toBeNull();
    expect(blockReason('64:ff9b::ac10:504', policy)).toBeNull();
    expect(blockReason('fd00::1', policy)).toBeNull();
    expect(blockReason('fc00::1', policy)).toBe('unique local');
    expect(blockReason('10.0.0.1', policy)).toBe('private');
    const everything = createSsrfPolicy({ allowedCidrs: ['0.0.0.0/0'] });
    expect(blockReason('127.0.0.1', everything)).toBeNull();
    expect(blockReason('::1', everything)).toBe('loopback');
  });
});

describe('SsrfBlockedError', () => {
  it('names the host and the address it resolved to, once', () => {
    expect(new SsrfBlockedError('rebind.test', '10.0.0.1', 'private').message).toBe(
      'rebind.test (10.0.0.1) is not an allowed destination: private',
    );
    expect(new SsrfBlockedError('10.0.0.1', '10.0.0.1', 'private').message).toBe(
      '10.0.0.1 is not an allowed destination: private',
    );
    expect(new SsrfBlockedError('localhost', undefined, 'localhost is loopback').message).toBe(
      'localhost is not an allowed destination: localhost is loopback',
    );
  });

  it('is a non-retryable ssrf_blocked DeliveryError carrying its parts', () => {
    const err = new SsrfBlockedError('h', '10.0.0.1', 'private');
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({
      name: 'SsrfBlockedError',
      code: 'ssrf_blocked',
      retryable: false,
      host: 'h',
      address: '10.0.0.1',
      reason: 'private',
    });
  });

  it('is found through up to eight levels of cause', () => {
    const wrap = (err: unknown, times: number): unknown =>
      times === 0 ? err : wrap(new Error('wrapper', { cause: err }), times - 1);
    const blocked = new SsrfBlockedError('h', undefined, 'r');
    expect(isSsrfBlockedError(blocked)).toBe(true);
    expect(isSsrfBlockedError(wrap(blocked, 7))).toBe(true);
    expect(isSsrfBlockedError(wrap(blocked, 8))).toBe(false);
    expect(isSsrfBlockedError(new Error('x', { cause: 'not an error' }))).toBe(false);
    expect(isSsrfBlockedError({ code: 'ssrf_blocked' })).toBe(false);
    expect(isSsrfBlockedError(undefined)).toBe(false);
  });
});

describe('localhost names', () => {
  it.each([
    ['localhost', true],
    ['LocalHost.', true],
    ['a.localhost', true],
    ['localhost.example', false],
    ['mylocalhost', false],
    ['localhost..', false],
  ])('%s: %s', (host, yes) => {
    expect(isLocalhostName(host)).toBe(yes);
  });
});

const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });
const zone: Record<string, LookupAddress[]> = {
  'dual.test': [v4('93.184.215.14'), v6('2606:2800:21f:cb07:6820:80da:af6b:8b2c')],
  'v4only.test': [v4('93.184.215.14')],
  'private.test': [v4('93.184.215.14'), v4('10.0.0.7')],
};
const zoneLookup: SsrfLookup = async (host) => {
  const found = zone[host];
  if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return found;
};

describe('resolveAllowed', () => {
  it('answers an IP literal itself, canonical, without DNS', async () => {
    const noDns: SsrfLookup = () => Promise.reject(new Error('no DNS for literals'));
    await expect(resolveAllowed('0x5db8d70e', none, noDns)).resolves.toEqual([v4('93.184.215.14')]);
    await expect(resolveAllowed('[2606:4700:0:0:0:0:0:1111]', none, noDns)).resolves.toEqual([
      v6('2606:4700::1111'),
    ]);
    await expect(resolveAllowed('0x7f.1', none, noDns)).rejects.toThrow(
      '0x7f.1 (127.0.0.1) is not an allowed destination: loopback',
    );
  });

  it('answers localhost with the allowlisted loopback addresses only', async () => {
    const noDns: SsrfLookup = () => Promise.reject(new Error('no DNS for localhost'));
    const v4Only = createSsrfPolicy({ allowedCidrs: ['127.0.0.1/32'] });
    await expect(resolveAllowed('localhost', v4Only, noDns)).resolves.toEqual([v4('127.0.0.1')]);
    const both = createSsrfPolicy({ allowedCidrs: ['127.0.0.0/8', '::1/128'] });
    await expect(resolveAllowed('localhost', both, noDns)).resolves.toEqual([v4('127.0.0.1'), v6('::1')]);
    await expect(resolveAllowed('localhost', none, noDns)).rejects.toBeInstanceOf(SsrfBlockedError);
  });

  it('refuses a name when any of its addresses is blocked, naming that address', async () => {
    const err: unknown = await resolveAllowed('private.test', none, zoneLookup).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SsrfBlockedError);
    expect((err as SsrfBlockedError).message).toBe(
      'private.test (10.0.0.7) is not an allowed destination: private',
    );
  });

  it('treats an empty answer as ENOTFOUND and passes resolver errors through', async () => {
    await expect(resolveAllowed('empty.test', none, async () => [])).rejects.toMatchObject({
      code: 'ENOTFOUND',
      hostname: 'empty.test',
      message: 'empty.test has no addresses',
    });
    await expect(resolveAllowed('nx.test', none, zoneLookup)).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('returns every address of an allowed name, as a copy', async () => {
    const all = await resolveAllowed('dual.test', none, zoneLookup);
    expect(all).toEqual(zone['dual.test']);
    expect(all).not.toBe(zone['dual.test']);
  });
});

describe('createGuardedLookup (the net/tls lookup of the guarded connector)', () => {
  const lookup = createGuardedLookup(none, zoneLookup);
  const call = (host: string, options: { family?: number; all?: boolean }) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) => {
      lookup(host, options as never, (err, address, family) => resolve({ err, address, family }));
    });

  it('answers the first address, or all of them, of the family asked for', async () => {
    expect(await call('dual.test', {})).toEqual({ err: null, address: '93.184.215.14', family: 4 });
    expect(await call('dual.test', { family: 6 })).toEqual({
      err: null,
      address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c',
      family: 6,
    });
    expect(await call('dual.test', { all: true })).toEqual({
      err: null,
      address: zone['dual.test'],
      family: undefined,
    });
    expect(await call('dual.test', { family: 4, all: true })).toEqual({
      err: null,
      address: [v4('93.184.215.14')],
      family: undefined,
    });
    // family 0 means either.
    expect((await call('dual.test', { family: 0, all: true })).address).toHaveLength(2);
  });

  it('answers ENOTFOUND when the name has no address of that family', async () => {
    const { err, address } = await call('v4only.test', { family: 6 });
    expect(address).toBe('');
    expect(err).toMatchObject({ code: 'ENOTFOUND', message: 'v4only.test has no IPv6 address' });
  });

  it('passes refusals and resolver errors to the callback', async () => {
    const refused = await call('private.test', {});
    expect(refused.err).toBeInstanceOf(SsrfBlockedError);
    expect(refused.address).toBe('');
    expect((await call('nx.test', {})).err).toMatchObject({ code: 'ENOTFOUND' });
  });
});

describe('createSsrfSafeConnect on IP literals', () => {
  it('refuses a blocked literal asynchronously, before any socket exists', async () => {
    const connect = createSsrfSafeConnect(none, { lookup: zoneLookup });
    let sync = true;
    const err = await new Promise<Error | null>((resolve) => {
      connect(
        { hostname: '0x7f000001', host: '0x7f000001', protocol: 'http:', port: '80' } as never,
        (...args) => resolve(sync ? new Error('called synchronously') : args[0]),
      );
      sync = false;
    });
    expect(err).toBeInstanceOf(SsrfBlockedError);
    expect(err!.message).toBe('0x7f000001 (127.0.0.1) is not an allowed destination: loopback');
  });
});
