// The headers a subscription makes Hookline send (its auth and its customHeaders): checked at
// save with the rules of http-header.ts, and the names customHeaders may never set at send time.
import { fieldPath, type FieldError } from './errors.js';
import {
  basicCredentialProblem,
  headerNameProblem,
  headerValueProblem,
  isReservedHeaderName,
} from './http-header.js';

export const DEFAULT_SECRET_HEADER = 'X-Webhook-Secret';

/** The header-bearing settings of a subscription, saved or about to be. */
export interface HeaderSettings {
  authType?: string;
  secret?: { headerName?: string; value: string };
  bearer?: { token: string };
  basic?: { username: string; password: string };
  customHeaders?: Record<string, string>;
}

/** The header the subscription's auth sets, if any. */
export function authHeaderName(s: Pick<HeaderSettings, 'authType' | 'secret'>): string | undefined {
  switch (s.authType) {
    case 'secret':
      return s.secret?.headerName ?? DEFAULT_SECRET_HEADER;
    case 'bearer':
    case 'basic':
    case 'oauth2':
      return 'authorization';
    // Stryker disable next-line ConditionalExpression: equivalent, without a default case the function returns undefined all the same
    default:
      return undefined;
  }
}

/** Names customHeaders may not set (any case): reserved ones, `authorization`, the auth header. */
export function isProtectedCustomHeader(
  name: string,
  s: Pick<HeaderSettings, 'authType' | 'secret'>,
): boolean {
  const n = name.toLowerCase();
  return isReservedHeaderName(n) || n === 'authorization' || n === authHeaderName(s)?.toLowerCase();
}

function customHeaderNameProblem(name: string, s: HeaderSettings): string | undefined {
  const problem = headerNameProblem(name);
  if (problem) return problem;
  if (name.toLowerCase() === 'authorization')
    return s.authType === 'bearer' || s.authType === 'basic' || s.authType === 'oauth2'
      ? `is set by authType ${s.authType}`
      : 'is set by authType bearer, basic or oauth2 (for another scheme use authType secret with headerName Authorization)';
  if (isProtectedCustomHeader(name, s)) return 'is the header of authType secret (secret.headerName)';
  return undefined;
}

/**
 * Every header problem of a subscription's settings, with its field path: secret header name
 * and value, bearer token, basic credentials (RFC 7617), and each customHeaders name and value.
 */
export function headerRuleErrors(s: HeaderSettings): FieldError[] {
  const errors: FieldError[] = [];
  const check = (path: string, message: string | undefined) => {
    if (message) errors.push({ path, message });
  };
  if (s.secret) {
    check('/secret/headerName', headerNameProblem(s.secret.headerName ?? DEFAULT_SECRET_HEADER));
    check('/secret/value', headerValueProblem(s.secret.value));
  }
  if (s.bearer) check('/bearer/token', headerValueProblem(s.bearer.token));
  if (s.basic) {
    check('/basic/username', basicCredentialProblem(s.basic.username, 'user-id'));
    check('/basic/password', basicCredentialProblem(s.basic.password, 'password'));
  }
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(s.customHeaders ?? {})) {
    const path = fieldPath('customHeaders', name);
    const first = seen.get(name.toLowerCase());
    check(
      path,
      customHeaderNameProblem(name, s) ??
        (first !== undefined ? `repeats "${first}" (header names are case-insensitive)` : undefined),
    );
    check(path, headerValueProblem(value));
    seen.set(name.toLowerCase(), first ?? name);
  }
  return errors;
}
