// Which addresses a webhook may reach: everything public, nothing internal (SPEC §7),
// except ranges the operator allowlists with ALLOWED_PRIVATE_CIDRS.
import ipaddr from 'ipaddr.js';
import { canonicalIp, parseIpLiteral, type IpAddress } from './ip-literal.js';

export type ParsedCidr = [IpAddress, number];

export interface SsrfPolicy {
  /** Ranges exempt from the block; IPv4-mapped IPv6 entries are stored as IPv4. */
  readonly allowedCidrs: readonly ParsedCidr[];
}

export interface SsrfPolicyOptions {
  /** CIDR ranges exempt from the block, e.g. `['127.0.0.0/8']`. Default: none. */
  allowedCidrs?: readonly string[];
}

/** Parses the allowlist once; throws on a malformed range so a bad config fails at boot. */
export function createSsrfPolicy(options: SsrfPolicyOptions = {}): SsrfPolicy {
  return { allowedCidrs: Object.freeze((options.allowedCidrs ?? []).map(parseCidr)) };
}

export function parseCidr(text: string): ParsedCidr {
  const parts = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  const ip = parts && parseStrictIp(parts[1]!);
  const prefix = Number(parts?.[2]);
  if (!ip || prefix > (ip.kind() === 'ipv6' ? 128 : 32)) {
    throw new Error(`"${text}" is not a CIDR range (expected e.g. 127.0.0.0/8 or ::1/128)`);
  }
  if (ip.kind() === 'ipv6' && prefix >= 96 && (ip as ipaddr.IPv6).isIPv4MappedAddress()) {
    return [(ip as ipaddr.IPv6).toIPv4Address(), prefix - 96];
  }
  return [ip, prefix];
}

// Allowlist entries are written by operators: only plain dotted quads and IPv6.
function parseStrictIp(text: string): IpAddress | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  return ipaddr.IPv6.isValid(text) ? ipaddr.IPv6.parse(text) : null;
}

const cidrs = (entries: Record<string, string[]>): [string, ParsedCidr][] =>
  Object.entries(entries).flatMap(([name, list]) =>
    list.map((c): [string, ParsedCidr] => [name, ipaddr.parseCIDR(c)]),
  );

// Named so refusals say why. Anything ipaddr.js does not call 'unicast', and IPv6 outside
// the global unicast block 2000::/3, is refused as well, so a gap here fails closed (that
// fallback gives the same name to some ranges: emptying those entries is an equivalent mutant).
const BLOCKED: [string, ParsedCidr][] = cidrs({
  'this network': ['0.0.0.0/8'],
  // Stryker disable next-line ArrayDeclaration: equivalent, the fallback names it "private" too
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
  CGNAT: ['100.64.0.0/10'],
  // Stryker disable next-line ArrayDeclaration: equivalent, the fallback names it "loopback" too
  loopback: ['127.0.0.0/8', '::1/128'],
  'link-local': ['169.254.0.0/16', 'fe80::/10'],
  'IETF protocol assignments': ['192.0.0.0/24'],
  documentation: ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32', '3fff::/20'],
  benchmarking: ['198.18.0.0/15', '2001:2::/48'],
  // Stryker disable next-line ArrayDeclaration: equivalent, the fallback names it "multicast" too
  multicast: ['224.0.0.0/4', 'ff00::/8'],
  // Before `reserved` (240.0.0.0/4), which holds it: the first matching name is the reason.
  broadcast: ['255.255.255.255/32'],
  // Stryker disable next-line ArrayDeclaration: equivalent, the fallback names it "reserved" too
  reserved: ['240.0.0.0/4'],
  // Stryker disable next-line ArrayDeclaration: equivalent, the fallback names it "unspecified" too
  unspecified: ['::/128'],
  'unique local': ['fc00::/7'],
  'site-local': ['fec0::/10'],
  // Stryker disable next-line ArrayDeclaration: equivalent, the fallback names it "discard" too
  discard: ['100::/64'],
  Teredo: ['2001::/32'],
  'local-use NAT64': ['64:ff9b:1::/48'],
});

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/**
 * Why `ip` may not be reached (e.g. "loopback"), or null when it may. Unparseable input is
 * refused. IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 addresses are judged by the IPv4
 * address they carry, since that is where the packets end up.
 */
export function blockReason(ip: string | IpAddress, policy: SsrfPolicy): string | null {
  const addr = typeof ip === 'string' ? parseIpLiteral(ip) : ip;
  if (!addr) return 'not an IP address';
  if (isAllowlisted(addr, policy)) return null;
  if (addr.kind() === 'ipv6') {
    const embedded = embeddedIPv4(addr as ipaddr.IPv6);
    if (embedded) {
      const inner = blockReason(embedded.ipv4, policy);
      return inner && `${embedded.kind} ${canonicalIp(embedded.ipv4)}, ${inner}`;
    }
  }
  const named = BLOCKED.find(([, cidr]) => addr.kind() === cidr[0].kind() && addr.match(cidr));
  if (named) return named[0];
  const range = addr.range();
  if (range !== 'unicast') return range;
  if (addr.kind() === 'ipv6' && !addr.match(GLOBAL_UNICAST_V6)) return 'reserved';
  return null;
}

export function isBlockedAddress(ip: string | IpAddress, policy: SsrfPolicy): boolean {
  return blockReason(ip, policy) !== null;
}

function isAllowlisted(addr: IpAddress, policy: SsrfPolicy): boolean {
  return policy.allowedCidrs.some((cidr) => addr.kind() === cidr[0].kind() && addr.match(cidr));
}

const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16');

function embeddedIPv4(addr: ipaddr.IPv6): { kind: string; ipv4: ipaddr.IPv4 } | null {
  const p = addr.parts;
  const fromWords = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  if (addr.isIPv4MappedAddress()) return { kind: 'IPv4-mapped', ipv4: addr.toIPv4Address() };
  if (addr.match(NAT64)) return { kind: 'NAT64', ipv4: fromWords(p[6], p[7]) };
  if (addr.match(SIX_TO_FOUR)) return { kind: '6to4', ipv4: fromWords(p[1], p[2]) };
  return null;
}
