// The one error a refused destination raises: code `ssrf_blocked`, never retried.
import { DeliveryError } from '../errors.js';

export class SsrfBlockedError extends DeliveryError {
  constructor(
    /** The host as written in the URL. */
    readonly host: string,
    /** The refused address, when the host is or resolved to one. */
    readonly address: string | undefined,
    /** Why, e.g. "loopback" or "IPv4-mapped 10.0.0.1, private". */
    readonly reason: string,
  ) {
    const what = address === undefined || address === host ? host : `${host} (${address})`;
    // Never retried: DeliveryError decides that for the code, in one place.
    super('ssrf_blocked', `${what} is not an allowed destination: ${reason}`);
    this.name = 'SsrfBlockedError';
  }
}

/** True for an SsrfBlockedError or anything wrapping one (fetch() puts it in `cause`). */
export function isSsrfBlockedError(err: unknown): err is SsrfBlockedError {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof SsrfBlockedError) return true;
  }
  return false;
}
