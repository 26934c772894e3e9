// SSRF guard (SPEC §7): the address policy, the save-time URL check and the undici connector
// that re-checks every connection. Implementation in ./ssrf/.
export { createSsrfPolicy, blockReason, isBlockedAddress, parseCidr } from './ssrf/policy.js';
export type { ParsedCidr, SsrfPolicy, SsrfPolicyOptions } from './ssrf/policy.js';
export { parseIpLiteral, canonicalIp } from './ssrf/ip-literal.js';
export type { IpAddress } from './ssrf/ip-literal.js';
export { checkUrl } from './ssrf/check-url.js';
export type { CheckUrlOptions, UrlCheck } from './ssrf/check-url.js';
export { createSsrfSafeConnect, createGuardedLookup } from './ssrf/connect.js';
export type { SsrfConnectOptions } from './ssrf/connect.js';
export { SsrfBlockedError, isSsrfBlockedError } from './ssrf/blocked-error.js';
export { isLocalhostName, resolveAllowed, systemLookup } from './ssrf/resolve.js';
export type { SsrfLookup } from './ssrf/resolve.js';
