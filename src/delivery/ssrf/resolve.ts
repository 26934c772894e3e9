// Turns a URL host into the addresses it may connect to, refusing the whole host if any
// address is blocked. Shared by the save-time check and the connect-time guard.
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress } from 'node:dns';
import { SsrfBlockedError } from './blocked-error.js';
import { canonicalIp, parseIpLiteral } from './ip-literal.js';
import { blockReason, type SsrfPolicy } from './policy.js';

/** Resolves a hostname to all its A and AAAA addresses. Inject one in tests. */
export type SsrfLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

export const systemLookup: SsrfLookup = (hostname) => dnsLookup(hostname, { all: true });

const LOOPBACK: readonly LookupAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

/** `localhost` and `*.localhost` always mean this machine (RFC 6761); DNS is not asked. */
export function isLocalhostName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * The addresses `host` may be reached at. Throws SsrfBlockedError when it is or resolves to
 * a blocked address; resolver errors pass through untouched (they are not SSRF verdicts).
 * A localhost name is reached only at its allowlisted loopback addresses, if any.
 */
export async function resolveAllowed(
  host: string,
  policy: SsrfPolicy,
  lookup: SsrfLookup,
): Promise<LookupAddress[]> {
  const literal = parseIpLiteral(host);
  if (literal) {
    const address = canonicalIp(literal);
    const reason = blockReason(literal, policy);
    if (reason) throw new SsrfBlockedError(host, address, reason);
    return [{ address, family: literal.kind() === 'ipv6' ? 6 : 4 }];
  }
  if (isLocalhostName(host)) {
    const allowed = LOOPBACK.filter((a) => blockReason(a.address, policy) === null);
    if (allowed.length === 0) throw new SsrfBlockedError(host, undefined, 'localhost is loopback');
    return allowed;
  }
  const addresses = await lookup(host);
  if (addresses.length === 0) {
    throw Object.assign(new Error(`${host} has no addresses`), { code: 'ENOTFOUND', hostname: host });
  }
  for (const { address } of addresses) {
    const reason = blockReason(address, policy);
    if (reason) throw new SsrfBlockedError(host, address, reason);
  }
  return [...addresses];
}
