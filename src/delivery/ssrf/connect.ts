// Connect-time SSRF guard for undici: judges the addresses a connection is actually opened
// to, after DNS, on every new socket, which defeats DNS rebinding between save and send.
import type { LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import { SsrfBlockedError } from './blocked-error.js';
import { canonicalIp, parseIpLiteral } from './ip-literal.js';
import { blockReason, type SsrfPolicy } from './policy.js';
import { resolveAllowed, systemLookup, type SsrfLookup } from './resolve.js';

export interface SsrfConnectOptions {
  /** Hostname resolver. Default: dns.promises.lookup with `all: true`. */
  lookup?: SsrfLookup;
  /**
   * Passed to undici's buildConnector (TLS options, `timeout`, `autoSelectFamily`…).
   * Agent-level `connectTimeout`/`autoSelectFamily` do not apply to a custom connector,
   * so set them here. A `lookup` given here is replaced by the guarded one.
   */
  connector?: Partial<buildConnector.BuildOptions>;
}

/** A net/dns LookupFunction that only ever yields allowed addresses (also used for OAuth token hosts). */
export function createGuardedLookup(policy: SsrfPolicy, resolver?: SsrfLookup): LookupFunction {
  const resolve = resolver ?? systemLookup;
  return (hostname, lookupOptions, callback) => {
    resolveAllowed(hostname, policy, resolve).then(
      (all) => {
        const family = lookupOptions.family;
        const wanted = family === 4 || family === 6 ? all.filter((a) => a.family === family) : all;
        const first = wanted[0];
        if (!first) {
          callback(
            Object.assign(new Error(`${hostname} has no IPv${String(family)} address`), {
              code: 'ENOTFOUND',
            }),
            '',
          );
        } else if (lookupOptions.all) {
          callback(null, wanted);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}

/**
 * A connector for `new Agent({ connect: createSsrfSafeConnect(policy) })`. IP-literal hosts
 * are judged before any socket exists; hostnames are resolved by a guarded `lookup` handed
 * to net/tls.connect, so only vetted addresses are dialled (all of them are vetted, as with
 * happy eyeballs any may be tried); the peer address is checked once more after connecting.
 * Refusals fail the request with SsrfBlockedError (`code: 'ssrf_blocked'`).
 */
export function createSsrfSafeConnect(
  policy: SsrfPolicy,
  options: SsrfConnectOptions = {},
): buildConnector.connector {
  const lookup = createGuardedLookup(policy, options.lookup);
  // undici supplies host and port per connection, so a partial option set is complete here.
  const connect = buildConnector({ ...options.connector, lookup } as buildConnector.BuildOptions);

  return (connectOptions, callback) => {
    let target = connectOptions;
    const literal = parseIpLiteral(connectOptions.hostname);
    if (literal) {
      const address = canonicalIp(literal);
      const reason = blockReason(literal, policy);
      if (reason) {
        // Asynchronous like a real connect failure, so undici sees the usual ordering.
        queueMicrotask(() => callback(new SsrfBlockedError(connectOptions.hostname, address, reason), null));
        return;
      }
      // Dial exactly the address we judged, not whatever a resolver makes of "0x7f.1".
      target = { ...connectOptions, hostname: address };
    }
    connect(target, (err, socket) => {
      if (err) {
        callback(err, null);
        return;
      }
      // Belt and braces: the lookup above already limits what can be dialled.
      const remote = socket.remoteAddress;
      const reason = remote === undefined ? null : blockReason(remote, policy);
      if (remote === undefined || reason) {
        socket.destroy();
        callback(
          reason
            ? new SsrfBlockedError(connectOptions.hostname, remote, reason)
            : new Error(`socket to ${connectOptions.hostname} closed while connecting`),
          null,
        );
        return;
      }
      callback(null, socket);
    });
  };
}
