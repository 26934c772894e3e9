// The rules for every header name and value Hookline will send, checked where they enter
// (save, publish, OAuth2 token responses), so a request can never fail in undici for its headers.

/** RFC 9110 §5.6.2 token: the only characters a field name may have. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Visible ASCII, space and tab (RFC 9110 §5.5 without obs-text): no CR, LF, NUL or other controls. */
const VALUE = /^[\t\x20-\x7e]*$/;

/**
 * Names a subscriber may not set through customHeaders or secret.headerName: what Hookline
 * itself sends (content-type, user-agent, webhook-*), hop-by-hop and framing headers that
 * undici refuses or that would change the message (host, content-length, connection,
 * transfer-encoding, keep-alive, upgrade, expect, te, trailer, proxy-*).
 */
const RESERVED = new Set([
  'content-type',
  'user-agent',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'traceparent',
  'tracestate',
]);

export function isHeaderName(name: string): boolean {
  return name.length <= 256 && TOKEN.test(name);
}

export function isHeaderValue(value: string): boolean {
  return value.length <= 8192 && VALUE.test(value);
}

/** True for names no subscriber setting may use (any case). `authorization` is left to the caller. */
export function isReservedHeaderName(name: string): boolean {
  const n = name.toLowerCase();
  return RESERVED.has(n) || n.startsWith('webhook-') || n.startsWith('proxy-');
}

/** Why a header name cannot be sent, or undefined when it can. */
export function headerNameProblem(name: string): string | undefined {
  if (!isHeaderName(name))
    return "must be an HTTP token (letters, digits and !#$%&'*+-.^_`|~), at most 256 characters";
  if (isReservedHeaderName(name)) return `"${name}" is reserved: Hookline sets it itself`;
  return undefined;
}

/** Why a header value cannot be sent, or undefined when it can. */
export function headerValueProblem(value: string): string | undefined {
  if (!isHeaderValue(value))
    return 'must be visible ASCII, spaces or tabs (no CR, LF, NUL or other control characters), at most 8192 characters';
  return undefined;
}

/** Anything but RFC 5234 CTLs (U+0000–001F, U+007F); other Unicode is UTF-8 before base64. */
const NO_CTL = /^[\x20-\x7e\x80-\u{10FFFF}]*$/u;

/**
 * Why a Basic user-id or password cannot be sent (RFC 7617 §2: no control characters, and no
 * ":" in the user-id, which would move the split), or undefined when it can.
 */
export function basicCredentialProblem(value: string, part: 'user-id' | 'password'): string | undefined {
  if (!NO_CTL.test(value)) return 'must not contain control characters (CR, LF, NUL, tab…), RFC 7617';
  if (part === 'user-id' && value.includes(':'))
    return 'must not contain ":" (it separates the user-id from the password, RFC 7617)';
  return undefined;
}
