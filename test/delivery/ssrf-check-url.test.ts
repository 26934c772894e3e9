import type { LookupAddress } from 'node:dns';
import { describe, expect, it, vi } from 'vitest';
import { checkUrl, createSsrfPolicy, type SsrfLookup } from '../../src/delivery/ssrf.js';

const none = createSsrfPolicy();
const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });
const dnsError = (code: string) => Object.assign(new Error(`getaddrinfo ${code}`), { code });

// A made-up zone: nothing here ever reaches a real resolver.
const ZONE: Record<string, readonly LookupAddress[]> = {
  'public.test': [v4('93.184.215.14'), v6('2606:2800:21f:cb07:6820:80da:af6b:8b2c')],
  'metadata.test': [v4('169.254.169.254')],
  'mixed.test': [v4('93.184.215.14'), v4('10.0.0.7')],
  'mixed6.test': [v4('93.184.215.14'), v6('fd00::7')],
  'mapped.test': [v6('::ffff:192.168.0.1')],
  'loop.test': [v4('127.0.0.1')],
  'empty.test': [],
};
const zoneLookup: SsrfLookup = async (host) => {
  const found = ZONE[host];
  if (!found) throw dnsError('ENOTFOUND');
  return found;
};

describe('checkUrl on hostnames', () => {
  it('accepts a host whose every address is public, asking DNS once', async () => {
    const lookup = vi.fn(zoneLookup);
    await expect(checkUrl('https://public.test/hooks', none, { lookup })).resolves.toEqual({ ok: true });
    expect(lookup).toHaveBeenCalledExactlyOnceWith('public.test');
  });

  it.each([
    ['metadata.test', '169.254.169.254', 'link-local'],
    ['mixed.test', '10.0.0.7', 'private'],
    ['mixed6.test', 'fd00::7', 'unique local'],
    ['mapped.test', '::ffff:192.168.0.1', 'IPv4-mapped 192.168.0.1, private'],
    ['loop.test', '127.0.0.1', 'loopback'],
  ])('refuses %s because one address (%s) is %s', async (host, address, why) => {
    await expect(checkUrl(`https://${host}/`, none, { lookup: zoneLookup })).resolves.toEqual({
      ok: false,
      reason: `${host} (${address}) is not an allowed destination: ${why}`,
      transient: false,
    });
  });

  it('accepts a resolved address the allowlist covers', async () => {
    const policy = createSsrfPolicy({ allowedCidrs: ['127.0.0.0/8'] });
    await expect(checkUrl('http://loop.test:3000/', policy, { lookup: zoneLookup })).resolves.toEqual({
      ok: true,
    });
  });

  it('refuses a resolver answer that is not an address', async () => {
    const lookup: SsrfLookup = async () => [{ address: 'garbage', family: 4 }];
    const result = await checkUrl('https://odd.test/', none, { lookup });
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('not an IP address') });
  });
});

describe('checkUrl when DNS fails (refused: we never store a destination we could not vet)', () => {
  it.each(['nx.test', 'empty.test'])('%s does not resolve: refused, not transient', async (host) => {
    await expect(checkUrl(`https://${host}/`, none, { lookup: zoneLookup })).resolves.toEqual({
      ok: false,
      reason: `${host} does not resolve`,
      transient: false,
    });
  });

  it.each(['EAI_AGAIN', 'ESERVFAIL', 'ECONNREFUSED'])('%s: refused as transient', async (code) => {
    const lookup: SsrfLookup = () => Promise.reject(dnsError(code));
    const result = await checkUrl('https://flaky.test/', none, { lookup });
    expect(result).toEqual({
      ok: false,
      reason: `flaky.test could not be resolved now (${code})`,
      transient: true,
    });
  });

  it('gives up after resolveTimeoutMs: refused as transient', async () => {
    const lookup: SsrfLookup = () => new Promise(() => {});
    const result = await checkUrl('https://slow.test/', none, { lookup, resolveTimeoutMs: 20 });
    expect(result).toEqual({
      ok: false,
      reason: 'slow.test could not be resolved now (ETIMEOUT)',
      transient: true,
    });
  });
});

describe('checkUrl on localhost names (never resolved through DNS)', () => {
  const neverAsked: SsrfLookup = () => Promise.reject(new Error('localhost must not reach DNS'));

  it.each(['localhost', 'LOCALHOST', 'localhost.', 'api.localhost', 'a.b.localhost.'])(
    'refuses %s',
    async (host) => {
      const result = await checkUrl(`http://${host}:8080/`, none, { lookup: neverAsked });
      expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('localhost is loopback') });
    },
  );

  it.each([['127.0.0.1/32'], ['::1/128'], ['127.0.0.0/8', '::1/128']])(
    'accepts localhost when %s is allowlisted',
    async (...cidrs) => {
      const policy = createSsrfPolicy({ allowedCidrs: cidrs });
      await expect(checkUrl('http://localhost:8080/', policy, { lookup: neverAsked })).resolves.toEqual({
        ok: true,
      });
    },
  );

  it('does not treat look-alikes as localhost', async () => {
    await expect(
      checkUrl('https://localhost.public.test/', none, { lookup: zoneLookup }),
    ).resolves.toMatchObject({
      reason: 'localhost.public.test does not resolve',
    });
  });
});

describe('checkUrl on malformed input', () => {
  it.each([
    ['not a url', 'not a valid URL'],
    ['http://', 'not a valid URL'],
    ['ftp://public.test/', 'scheme ftp: is not allowed'],
    ['file:///etc/passwd', 'scheme file: is not allowed'],
    ['gopher://public.test/', 'scheme gopher: is not allowed'],
    ['http://1.2.3.4.5/', 'not a valid URL'],
  ])('%j: %s', async (url, reason) => {
    await expect(checkUrl(url, none, { lookup: zoneLookup })).resolves.toEqual({
      ok: false,
      reason,
      transient: false,
    });
  });

  it('judges the host, not userinfo that looks like one', async () => {
    await expect(
      checkUrl('https://127.0.0.1:80@public.test/', none, { lookup: zoneLookup }),
    ).resolves.toEqual({ ok: true });
    await expect(
      checkUrl('https://public.test@127.0.0.1/', none, { lookup: zoneLookup }),
    ).resolves.toMatchObject({ ok: false });
    await expect(checkUrl('https://public.test\\@127.0.0.1/', none, { lookup: zoneLookup })).resolves.toEqual(
      { ok: true },
    );
  });
});

describe('checkUrl names the host as written', () => {
  const refusal = async (url: string) => {
    const result = await checkUrl(url, none, { lookup: zoneLookup });
    return result.ok ? 'accepted' : result.reason;
  };

  it.each([
    ['http://0x7f.1/', '0x7f.1 is not an allowed destination: loopback'],
    ['HTTP://0X7F.1:8080/x', '0x7f.1 is not an allowed destination: loopback'],
    ['https://user:pw@0x7f.1:8443/', '0x7f.1 is not an allowed destination: loopback'],
    ['http://a@b@0x7f.1/', '0x7f.1 is not an allowed destination: loopback'],
    ['  http://0x7f.1/  ', '0x7f.1 is not an allowed destination: loopback'],
    ['http://0x7f%2e1/', '0x7f.1 is not an allowed destination: loopback'],
    ['http://[::1]/', '[::1] is not an allowed destination: loopback'],
    ['http://[::1]:8080/', '[::1] is not an allowed destination: loopback'],
    ['http:\\\\0x7f.1\\x', '0x7f.1 is not an allowed destination: loopback'],
    // A control character before the scheme: the URL parser drops it, the raw reading gives up,
    // and the parsed host is judged instead.
    ['\u0001http://0x7f.1/', '127.0.0.1 is not an allowed destination: loopback'],
    // A newline inside an escape: the parser drops it (%2e, a dot), the raw reading cannot decode.
    ['http://0x7f%2\ne1/', '127.0.0.1 is not an allowed destination: loopback'],
  ])('%j: %s', async (url, reason) => {
    expect(await refusal(url)).toBe(reason);
  });

  it('refuses a URL whose host is missing', async () => {
    for (const url of ['http:///x', 'https://', 'http://:80/', 'https://@/']) {
      expect(await refusal(url), url).toMatch(/not a valid URL|does not resolve/);
    }
  });
});

describe('checkUrl DNS outcomes', () => {
  it('ENODATA means the name has no address: refused, not transient', async () => {
    const lookup: SsrfLookup = () => Promise.reject(dnsError('ENODATA'));
    await expect(checkUrl('https://nodata.test/', none, { lookup })).resolves.toEqual({
      ok: false,
      reason: 'nodata.test does not resolve',
      transient: false,
    });
  });

  it('waits up to 5 s for DNS by default', async () => {
    const slow: SsrfLookup = (host) => new Promise((resolve) => setTimeout(() => resolve(ZONE[host]!), 30));
    await expect(checkUrl('https://public.test/', none, { lookup: slow })).resolves.toEqual({ ok: true });
  });

  it('leaves no timer behind', async () => {
    vi.useFakeTimers();
    try {
      await expect(checkUrl('https://public.test/', none, { lookup: zoneLookup })).resolves.toEqual({
        ok: true,
      });
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
