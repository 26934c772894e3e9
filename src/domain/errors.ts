// Errors are values with stable codes: the API maps them to problem+json in one place
// (src/api/plugins/errors.ts) and the delivery worker maps them to retry / no-retry.

export interface FieldError {
  path: string;
  message: string;
}

/** A JSON Pointer (RFC 6901) to a field, e.g. `fieldPath('customHeaders', 'X-A')` → `/customHeaders/X-A`. */
export const fieldPath = (...tokens: string[]): string =>
  tokens.map((t) => `/${t.replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

export type ErrorCode =
  | 'validation_error'
  | 'not_found'
  | 'conflict'
  | 'limit_exceeded'
  | 'unauthorized'
  | 'insufficient_scope'
  | 'verification_failed'
  | 'payload_too_large'
  | 'rate_limited'
  | 'ssrf_blocked'
  | 'unavailable'
  | 'internal_error';

const STATUS: Record<ErrorCode, number> = {
  validation_error: 400,
  ssrf_blocked: 400,
  unauthorized: 401,
  insufficient_scope: 403,
  not_found: 404,
  conflict: 409,
  limit_exceeded: 409,
  payload_too_large: 413,
  verification_failed: 422,
  rate_limited: 429,
  internal_error: 500,
  unavailable: 503,
};

const TITLE: Record<ErrorCode, string> = {
  validation_error: 'Invalid request',
  ssrf_blocked: 'Address not allowed',
  unauthorized: 'Unauthorized',
  insufficient_scope: 'Insufficient scope',
  not_found: 'Not found',
  conflict: 'Conflict',
  limit_exceeded: 'Limit exceeded',
  payload_too_large: 'Payload too large',
  verification_failed: 'Endpoint verification failed',
  rate_limited: 'Too many requests',
  internal_error: 'Internal error',
  unavailable: 'Service unavailable',
};

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
    this.status = STATUS[code];
    this.title = TITLE[code];
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
