// Save-time SSRF check of a webhook URL (SPEC §3, §7). The connect-time guard repeats the
// verdict on every new connection, so this check is about clear, early 400s.
import { SsrfBlockedError } from './blocked-error.js';
import { parseIpLiteral } from './ip-literal.js';
import { blockReason, type SsrfPolicy } from './policy.js';
import { resolveAllowed, systemLookup, type SsrfLookup } from './resolve.js';

export interface CheckUrlOptions {
  /** Hostname resolver. Default: dns.promises.lookup with `all: true` (A and AAAA). */
  lookup?: SsrfLookup;
  /** Give up resolving after this long and refuse as transient. Default 5000 ms. */
  resolveTimeoutMs?: number;
}

export type UrlCheck =
  | { ok: true }
  | {
      ok: false;
      reason: string;
      /** True when DNS failed in a way that may pass on retry (API: 503, not 400). */
      transient: boolean;
    };

const refuse = (reason: string, transient = false): UrlCheck => ({ ok: false, reason, transient });

/**
 * Refuses a URL whose host is, or resolves to, any blocked address. A host that cannot be
 * resolved is refused too (fail closed: we never store a destination we could not vet);
 * `transient` tells a DNS outage apart from a name that does not exist.
 */
export async function checkUrl(
  url: string,
  policy: SsrfPolicy,
  options: CheckUrlOptions = {},
): Promise<UrlCheck> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse('not a valid URL');
  }
  // http(s) URLs always have a host: new URL() fails on an empty one.
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return refuse(`scheme ${parsed.protocol} is not allowed`);

  // The WHATWG parser already rewrites 0x7f.1 and friends to dotted decimal; the host as
  // written is judged too, so a parser disagreement can only make us stricter.
  const raw = rawHost(url);
  const rawIp = raw === null ? null : parseIpLiteral(raw);
  const rawReason = rawIp && blockReason(rawIp, policy);
  if (rawReason) return refuse(`${raw} is not an allowed destination: ${rawReason}`);

  try {
    await withTimeout(
      resolveAllowed(parsed.hostname, policy, options.lookup ?? systemLookup),
      options.resolveTimeoutMs ?? 5000,
    );
    return { ok: true };
  } catch (err) {
    if (err instanceof SsrfBlockedError) return refuse(err.message);
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return refuse(`${parsed.hostname} does not resolve`);
    return refuse(
      `${parsed.hostname} could not be resolved now (${String(code ?? (err as Error).message)})`,
      true,
    );
  }
}

// The authority's host exactly as written (userinfo and port dropped, percent-decoded).
function rawHost(url: string): string | null {
  const authority = /^[a-z][a-z0-9+.-]*:[/\\]*([^/?#\\]*)/i.exec(url.trim())?.[1];
  if (authority === undefined) return null;
  // The port is what follows the last ":" when only digits do ("[::1]:80", not "[::1]").
  const host = authority.slice(authority.lastIndexOf('@') + 1).replace(/:\d*$/, '');
  try {
    return decodeURIComponent(host).toLowerCase();
  } catch {
    // A malformed escape: the URL parser read it differently (it drops tabs and newlines, so
    // "%2<LF>e" is "%2e" to it). The parsed host is judged in any case.
    return host.toLowerCase();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`DNS lookup timed out after ${ms} ms`), { code: 'ETIMEOUT' })),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
