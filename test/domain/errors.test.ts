// Errors as values (src/domain/errors.ts): every code's HTTP status and title, and the helpers.
import { describe, expect, it } from 'vitest';
import {
  codeForStatus,
  codesWithStatus,
  conflict,
  ERROR_CODES,
  fieldPath,
  HooklineError,
  limitExceeded,
  notFound,
  validationError,
  type ErrorCode,
} from '../../src/domain/errors.js';

describe('HooklineError', () => {
  it.each([
    ['validation_error', 400, 'Invalid request'],
    ['ssrf_blocked', 400, 'Address not allowed'],
    ['unauthorized', 401, 'Unauthorized'],
    ['insufficient_scope', 403, 'Insufficient scope'],
    ['not_found', 404, 'Not found'],
    ['conflict', 409, 'Conflict'],
    ['payload_too_large', 413, 'Payload too large'],
    ['verification_failed', 422, 'Endpoint verification failed'],
    ['rate_limited', 429, 'Too many requests'],
    ['internal_error', 500, 'Internal error'],
    ['unavailable', 503, 'Service unavailable'],
  ] as const)('%s is %i %s', (code: ErrorCode, status, title) => {
    const err = new HooklineError(code, 'the detail');
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ code, status, title, name: 'HooklineError', message: 'the detail' });
    expect(err.errors).toBeUndefined();
  });

  it('carries field errors and extra members', () => {
    const err = new HooklineError('conflict', 'd', [{ path: '/a', message: 'm' }], { retryAfter: 3 });
    expect(err.errors).toEqual([{ path: '/a', message: 'm' }]);
    expect(err.extra).toEqual({ retryAfter: 3 });
  });
});

describe('helpers', () => {
  it('validationError names each field in the detail', () => {
    const err = validationError([
      { path: '/a', message: 'is required' },
      { path: '/b/0', message: 'must be string' },
    ]);
    expect(err).toMatchObject({
      code: 'validation_error',
      status: 400,
      message: '/a: is required; /b/0: must be string',
    });
    expect(err.errors).toHaveLength(2);
    expect(validationError([{ path: '/a', message: 'x' }], 'Custom detail').message).toBe('Custom detail');
  });

  it('validationError becomes ssrf_blocked when a refused address is among the errors', () => {
    const err = validationError([
      { path: '/a', message: 'is required' },
      { path: '/webhookUrl', message: 'ssrf_blocked: 10.0.0.1 is not an allowed destination: private' },
    ]);
    expect(err).toMatchObject({ code: 'ssrf_blocked', status: 400, title: 'Address not allowed' });
    // Only a message that starts with the code counts.
    expect(validationError([{ path: '/a', message: 'mentions ssrf_blocked later' }]).code).toBe(
      'validation_error',
    );
  });

  it('notFound and conflict', () => {
    expect(notFound('Subscription sub_1')).toMatchObject({
      code: 'not_found',
      status: 404,
      message: 'Subscription sub_1 not found',
    });
    const c = conflict('already exists', [{ path: '/id', message: 'taken' }]);
    expect(c).toMatchObject({ code: 'conflict', status: 409, message: 'already exists' });
    expect(c.errors).toEqual([{ path: '/id', message: 'taken' }]);
    expect(conflict('plain').errors).toBeUndefined();
  });
});

describe('limitExceeded and fieldPath', () => {
  it('limitExceeded is a 409 limit_exceeded carrying the limit', () => {
    const e = limitExceeded('at most 3 subscriptions', 3);
    expect(e).toBeInstanceOf(HooklineError);
    expect(e).toMatchObject({ code: 'limit_exceeded', status: 409, message: 'at most 3 subscriptions' });
    expect(e.extra).toStrictEqual({ limit: 3 });
    expect(e.errors).toBeUndefined();
  });

  it('fieldPath is an RFC 6901 pointer, ~ and / escaped in each token', () => {
    expect(fieldPath('customHeaders', 'X-A')).toBe('/customHeaders/X-A');
    expect(fieldPath('a/b', 'c~d', '~/~/')).toBe('/a~1b/c~0d/~0~1~0~1');
    expect(fieldPath('x', '~1')).toBe('/x/~01');
    expect(fieldPath('')).toBe('/');
    expect(fieldPath()).toBe('');
  });
});

describe('the one code table', () => {
  it('maps a bare status to the first code listed with it', () => {
    expect(codeForStatus(400)).toBe('validation_error');
    expect(codeForStatus(409)).toBe('conflict');
    expect(codeForStatus(405)).toBe('method_not_allowed');
    expect(codeForStatus(418)).toBeUndefined();
  });

  it('lists every code of a status in table order', () => {
    expect(codesWithStatus(409)).toEqual(['conflict', 'limit_exceeded']);
    expect(codesWithStatus(400)).toEqual([
      'validation_error',
      'ssrf_blocked',
      'unsupported_filter',
      'bad_request',
    ]);
  });

  it('gives only 4xx to codes about the request and 5xx to the service', () => {
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      const serverSide = code === 'internal_error' || code === 'unavailable';
      expect(status >= 500, code).toBe(serverSide);
    }
  });
});
