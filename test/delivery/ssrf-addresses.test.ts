import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import {
  blockReason,
  canonicalIp,
  checkUrl,
  createSsrfPolicy,
  isBlockedAddress,
  parseCidr,
  parseIpLiteral,
} from '../../src/delivery/ssrf.js';

const none = createSsrfPolicy();

// Literals never need DNS: any call to this resolver fails the test.
const noDns = {
  lookup: () => {
    throw new Error('literal hosts must not be resolved');
  },
};

describe('parseIpLiteral', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0X7F000001', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0177.0.0.01', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['10.1', '10.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['0x', '0.0.0.0'],
    ['0', '0.0.0.0'],
    ['4294967295', '255.255.255.255'],
    ['169.254.43518', '169.254.169.254'],
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
    ['[0:0:0:0:0:FFFF:7F00:0001]', '::ffff:7f00:1'],
    ['[64:ff9b::10.0.0.1]', '64:ff9b::a00:1'],
  ])('%s is %s', (host, expected) => {
    const ip = parseIpLiteral(host);
    expect(ip && canonicalIp(ip)).toBe(expected);
  });

  it.each([
    '',
    'example.com',
    'rebind.test',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.2.3.256',
    '1.2.65536',
    '4294967296',
    '08.0.0.1',
    '0x7g.0.0.1',
    '127..1',
    '[::1',
    '1.2.3.4 ',
    '[not:an:ip]',
    // Five parts, even when the fifth is 0.
    '1.2.3.4.0',
    // A bracket only at the end.
    'x::1]',
    // Each part is digits of its own radix, with no sign.
    '1a.2.3.4',
    '0x1g1',
    '018.0.0.1',
    '0181.0.0.1',
    '1.2.3.-4',
    '1.2.3.+4',
  ])('%j is not an IP literal', (host) => expect(parseIpLiteral(host)).toBeNull());
});

// One address per edge and one inside every blocked range.
const BLOCKED_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '255.255.255.255/32',
];

function samplesOf(cidr: string): string[] {
  const first = ipaddr.IPv4.networkAddressFromCIDR(cidr).toByteArray();
  const last = ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toByteArray();
  const toNum = (b: number[]) => b.reduce((n, x) => n * 256 + x, 0);
  const mid = Math.floor((toNum(first) + toNum(last)) / 2);
  const fromNum = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  return [...new Set([fromNum(toNum(first)), fromNum(mid), fromNum(toNum(last))])];
}
const BLOCKED_V4_SAMPLES = [...BLOCKED_V4.flatMap(samplesOf), '169.254.169.254'];

// Neighbours of the blocked ranges, and well-known public resolvers.
const PUBLIC_V4 = [
  '1.0.0.0',
  '1.1.1.1',
  '8.8.8.8',
  '9.255.255.255',
  '11.0.0.0',
  '100.63.255.255',
  '100.128.0.0',
  '126.255.255.255',
  '128.0.0.0',
  '169.253.255.255',
  '169.255.0.0',
  '172.15.255.255',
  '172.32.0.0',
  '192.0.1.255',
  '192.0.3.0',
  '192.167.255.255',
  '192.169.0.0',
  '198.17.255.255',
  '198.20.0.0',
  '198.51.99.255',
  '198.51.101.0',
  '203.0.112.255',
  '203.0.114.0',
  '223.255.255.255',
];

const BLOCKED_V6 = [
  '::1',
  '::',
  'fc00::',
  'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  'fe80::1',
  'febf:ffff::1',
  'ff02::1',
  'ff0e::1',
  '2001:db8::1',
  '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff',
  '3fff::1',
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::ffff:10.0.0.1',
  '::ffff:169.254.169.254',
  '::ffff:0.0.0.0',
  '64:ff9b::7f00:1',
  '64:ff9b::10.0.0.1',
  '64:ff9b::a9fe:a9fe',
  '64:ff9b:1::808:808',
  '2002:7f00:1::',
  '2002:a00:1::1',
  '2002:c0a8:101::',
  '2001::1',
  '2001:0:ffff::1',
  '100::1',
  '100::ffff:ffff:ffff:ffff',
  'fec0::1',
  '::a00:1',
  '::ffff:0:808:808',
  '4000::1',
  '5f00::1',
];

const PUBLIC_V6 = [
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '2a00:1450:4001::1',
  '64:ff9b::808:808',
  '2002:808:808::1',
  '::ffff:8.8.8.8',
];

describe('isBlockedAddress without an allowlist', () => {
  it.each([...BLOCKED_V4_SAMPLES, ...BLOCKED_V6])('%s is blocked', (ip) => {
    expect(isBlockedAddress(ip, none)).toBe(true);
  });

  it.each([...PUBLIC_V4, ...PUBLIC_V6])('%s is allowed', (ip) => {
    expect(isBlockedAddress(ip, none)).toBe(false);
  });

  it('refuses what it cannot parse', () => {
    expect(blockReason('not-an-ip', none)).toBe('not an IP address');
  });

  it.each([
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'CGNAT'],
    ['198.19.0.1', 'benchmarking'],
    ['2001::1', 'Teredo'],
    ['::ffff:10.0.0.1', 'IPv4-mapped 10.0.0.1, private'],
    ['64:ff9b::7f00:1', 'NAT64 127.0.0.1, loopback'],
    ['2002:c0a8:101::', '6to4 192.168.1.1, private'],
    ['4000::1', 'reserved'],
  ])('names the range of %s', (ip, reason) => {
    expect(blockReason(ip, none)).toBe(reason);
  });
});

describe('allowlist', () => {
  const one = createSsrfPolicy({ allowedCidrs: ['127.0.0.1/32'] });

  it.each([
    ['127.0.0.1', false],
    ['::ffff:127.0.0.1', false],
    ['127.0.0.2', true],
    ['::1', true],
    ['10.0.0.1', true],
  ])('127.0.0.1/32: %s blocked=%s', (ip, blocked) => {
    expect(isBlockedAddress(ip, one)).toBe(blocked);
  });

  it('exempts whole ranges, IPv4 and IPv6', () => {
    const policy = createSsrfPolicy({ allowedCidrs: ['10.0.0.0/8', ' fd00::/8 '] });
    expect(isBlockedAddress('10.255.0.1', policy)).toBe(false);
    expect(isBlockedAddress('::ffff:10.1.2.3', policy)).toBe(false);
    expect(isBlockedAddress('fd12::1', policy)).toBe(false);
    expect(isBlockedAddress('fc00::1', policy)).toBe(true);
    expect(isBlockedAddress('11.0.0.0', policy)).toBe(false);
    expect(isBlockedAddress('172.16.0.1', policy)).toBe(true);
  });

  it('stores an IPv4-mapped range as IPv4', () => {
    const [ip, bits] = parseCidr('::ffff:127.0.0.0/104');
    expect([ip.toString(), bits]).toEqual(['127.0.0.0', 8]);
  });

  it.each([
    'nope',
    '10.0.0.0',
    '10.0.0.0/33',
    '::1/129',
    '10.0.0.0/8/8',
    '0x7f000001/32',
    '127.1/32',
    '10.0.0.0/-1',
    '',
  ])('rejects %j', (cidr) =>
    expect(() => createSsrfPolicy({ allowedCidrs: [cidr] })).toThrow(/not a CIDR range/),
  );
});

// Every way a URL may spell an IPv4 address (WHATWG and inet_aton forms, IPv6 wrappings).
function spellingsV4(ip: string): string[] {
  const b = ip.split('.').map(Number) as [number, number, number, number];
  const n = ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];
  const hex = (x: number) => `0x${x.toString(16)}`;
  const word = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
  return [
    ip,
    `${ip}.`,
    String(n),
    hex(n),
    `0X${n.toString(16).toUpperCase()}`,
    b.map(hex).join('.'),
    b.map((x) => `0${x.toString(8)}`).join('.'),
    `0${n.toString(8)}`,
    `${b[0]}.${b[1]}.${(b[2] << 8) + b[3]}`,
    `${b[0]}.${(b[1] << 16) + (b[2] << 8) + b[3]}`,
    `${hex(b[0])}.${(b[1] << 16) + (b[2] << 8) + b[3]}`,
    ip.replaceAll('.', '%2E'),
    `[::ffff:${ip}]`,
    `[::ffff:${word(b[0], b[1])}:${word(b[2], b[3])}]`,
    `[0:0:0:0:0:ffff:${ip}]`,
    `[64:ff9b::${ip}]`,
    `[2002:${word(b[0], b[1])}:${word(b[2], b[3])}::1]`,
  ];
}

function spellingsV6(ip: string): string[] {
  const addr = ipaddr.IPv6.parse(ip);
  const padded = addr.parts.map((p) => p.toString(16).padStart(4, '0')).join(':');
  return [`[${ip}]`, `[${addr.toNormalizedString()}]`, `[${padded.toUpperCase()}]`];
}

const urlsOf = (hosts: string[]) =>
  hosts.flatMap((h) => [`http://${h}/`, `https://user:pw@${h}:8443/hook?x=1`]);

async function verdicts(urls: string[], policy = none) {
  return Promise.all(urls.map(async (url) => ({ url, ...(await checkUrl(url, policy, noDns)) })));
}

describe('WHATWG URL normalisation', () => {
  // Documents what `new URL()` does, and that our parser reads the raw host the same way.
  it.each([
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f000001/', '127.0.0.1'],
    ['http://0x7f.0.0.1/', '127.0.0.1'],
    ['http://0177.0.0.1/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://10.1/', '10.0.0.1'],
    ['http://127.0.0.1./', '127.0.0.1'],
    ['http://127%2e0%2e0%2e1/', '127.0.0.1'],
    ['http://[::ffff:127.0.0.1]/', '[::ffff:7f00:1]'],
    ['http://[::ffff:7f00:1]/', '[::ffff:7f00:1]'],
    ['http://[64:ff9b::127.0.0.1]/', '[64:ff9b::7f00:1]'],
    ['http://localhost./', 'localhost.'],
  ])('%s has host %s', (url, hostname) => {
    expect(new URL(url).hostname).toBe(hostname);
    const raw = decodeURIComponent(url.slice('http://'.length, -1));
    const fromRaw = parseIpLiteral(raw);
    const fromUrl = parseIpLiteral(hostname);
    expect(fromRaw && canonicalIp(fromRaw)).toBe(fromUrl && canonicalIp(fromUrl));
  });
});

describe('checkUrl on IP literals (no DNS)', () => {
  it.each(BLOCKED_V4_SAMPLES)('refuses every spelling of %s', async (ip) => {
    const results = await verdicts(urlsOf(spellingsV4(ip)));
    expect(
      results.filter((r) => r.ok || !/not an allowed destination/.test(r.reason)).map((r) => r.url),
    ).toEqual([]);
  });

  it.each(BLOCKED_V6)('refuses every spelling of %s', async (ip) => {
    const results = await verdicts(urlsOf(spellingsV6(ip)));
    expect(
      results.filter((r) => r.ok || !/not an allowed destination/.test(r.reason)).map((r) => r.url),
    ).toEqual([]);
  });

  it.each(PUBLIC_V4)('accepts every spelling of %s', async (ip) => {
    const results = await verdicts(urlsOf(spellingsV4(ip)));
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });

  it.each(PUBLIC_V6)('accepts every spelling of %s', async (ip) => {
    const results = await verdicts(urlsOf(spellingsV6(ip)));
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });

  it('says which range refused the URL', async () => {
    await expect(checkUrl('http://169.254.169.254/latest/meta-data/', none, noDns)).resolves.toEqual({
      ok: false,
      reason: '169.254.169.254 is not an allowed destination: link-local',
      transient: false,
    });
  });

  describe('with ALLOWED_PRIVATE_CIDRS=127.0.0.1/32', () => {
    const policy = createSsrfPolicy({ allowedCidrs: ['127.0.0.1/32'] });

    it('accepts 127.0.0.1 in every spelling', async () => {
      const results = await verdicts(
        [
          'http://127.0.0.1:8080/',
          'http://2130706433:8080/',
          'http://0x7f.1:8080/',
          'http://[::ffff:127.0.0.1]:8080/',
        ],
        policy,
      );
      expect(results.filter((r) => !r.ok)).toEqual([]);
    });

    it('still refuses 127.0.0.2 and ::1 in every spelling', async () => {
      const urls = [...urlsOf(spellingsV4('127.0.0.2')), 'http://0x7f000002:8080/', 'http://[::1]:8080/'];
      const results = await verdicts(urls, policy);
      expect(
        results.filter((r) => r.ok || !/not an allowed destination/.test(r.reason)).map((r) => r.url),
      ).toEqual([]);
    });
  });
});
