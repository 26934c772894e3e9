// Errors are values with stable codes: the API maps them to problem+json in one place
// (src/api/plugins/errors.ts) and the delivery worker maps them to retry / no-retry.

export interface FieldError {
  path: string;
  message: string;
}

/** A JSON Pointer (RFC 6901) to a field, e.g. `fieldPath('customHeaders', 'X-A')` → `/customHeaders/X-A`. */
export const fieldPath = (...tokens: string[]): string =>
  tokens.map((t) => `/${t.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

/**
 * Every `code` the API answers with, and its HTTP status, title and meaning: the one table the
 * error classes, the problem+json handler and the OpenAPI document read. For a status several
 * codes share, the first listed is what a bare status (from Fastify itself) maps to.
 */
export const ERROR_CODES = {
  validation_error: { status: 400, title: 'Invalid request', about: 'with a field path per error' },
  ssrf_blocked: { status: 400, title: 'Address not allowed', about: 'a URL resolves to a blocked address' },
  unsupported_filter: {
    status: 400,
    title: 'Filter not supported',
    about: 'the history store cannot serve this filter (the Redis store; set DATABASE_URL)',
  },
  bad_request: { status: 400, title: 'Bad request', about: 'a malformed request line or path' },
  unauthorized: { status: 401, title: 'Unauthorized', about: 'no valid bearer token' },
  insufficient_scope: {
    status: 403,
    title: 'Insufficient scope',
    about: 'the token lacks the scope this route needs',
  },
  not_found: { status: 404, title: 'Not found', about: 'no such resource for this tenant' },
  method_not_allowed: { status: 405, title: 'Method not allowed', about: 'the route has no such method' },
  not_acceptable: { status: 406, title: 'Not acceptable', about: 'no answer in an accepted media type' },
  request_timeout: { status: 408, title: 'Request timeout', about: 'the request took too long to arrive' },
  conflict: { status: 409, title: 'Conflict', about: 'conflicts with the current state' },
  limit_exceeded: {
    status: 409,
    title: 'Limit exceeded',
    about: 'a per-tenant cap is reached; it holds until something is deleted',
  },
  payload_too_large: {
    status: 413,
    title: 'Payload too large',
    about: 'the body is larger than the API accepts',
  },
  uri_too_long: { status: 414, title: 'URI too long', about: 'the URL is longer than the API accepts' },
  unsupported_media_type: {
    status: 415,
    title: 'Unsupported media type',
    about: 'the body is not in a media type this route accepts',
  },
  verification_failed: {
    status: 422,
    title: 'Endpoint verification failed',
    about: 'the receiver did not accept the verification request',
  },
  rate_limited: {
    status: 429,
    title: 'Too many requests',
    about: 'too many requests or failed authentications; see Retry-After',
  },
  internal_error: { status: 500, title: 'Internal error', about: 'a bug; it has been logged' },
  unavailable: {
    status: 503,
    title: 'Service unavailable',
    about: 'a store Hookline needs is down; retry later',
  },
} as const satisfies Record<string, { status: number; title: string; about: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The code a bare HTTP status stands for (the first listed with it), if any. */
export function codeForStatus(status: number): ErrorCode | undefined {
  return (Object.keys(ERROR_CODES) as ErrorCode[]).find((c) => ERROR_CODES[c].status === status);
}

/** The codes answered with `status`, in table order. */
export const codesWithStatus = (status: number): ErrorCode[] =>
  (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => ERROR_CODES[c].status === status);

export class HooklineError extends Error {
  readonly status: number;
  readonly title: string;
  constructor(
    readonly code: ErrorCode,
    detail: string,
    readonly errors?: FieldError[],
    readonly extra?: Record<string, unknown>,
  ) {
    super(detail);
    this.name = 'HooklineError';
    this.status = ERROR_CODES[code].status;
    this.title = ERROR_CODES[code].title;
  }
}

/** A 400 naming each bad field; a refused address makes it `ssrf_blocked` (SPEC §3, §7). */
export const validationError = (errors: FieldError[], detail?: string) =>
  new HooklineError(
    errors.some((e) => e.message.startsWith('ssrf_blocked')) ? 'ssrf_blocked' : 'validation_error',
    detail ?? errors.map((e) => `${e.path}: ${e.message}`).join('; '),
    errors,
  );

export const notFound = (what: string) => new HooklineError('not_found', `${what} not found`);
export const conflict = (detail: string, errors?: FieldError[]) =>
  new HooklineError('conflict', detail, errors);

/** A per-tenant cap is reached (409: it holds until something is deleted, so retrying will not help). */
export const limitExceeded = (detail: string, limit: number) =>
  new HooklineError('limit_exceeded', detail, undefined, { limit });
