// The headers a subscription makes Hookline send (src/domain/subscription-headers.ts): which
// header each authType sets, which names customHeaders may never use, and every header problem
// reported at save with its field path. Pure, no I/O.
import { describe, expect, it } from 'vitest';
import {
  authHeaderName,
  DEFAULT_SECRET_HEADER,
  headerRuleErrors,
  isProtectedCustomHeader,
} from '../../src/domain/subscription-headers.js';

const NAME_PROBLEM = "must be an HTTP token (letters, digits and !#$%&'*+-.^_`|~), at most 256 characters";
const VALUE_PROBLEM =
  'must be visible ASCII, spaces or tabs (no CR, LF, NUL or other control characters), at most 8192 characters';
const CTL_PROBLEM = 'must not contain control characters (CR, LF, NUL, tab…), RFC 7617';
const COLON_PROBLEM = 'must not contain ":" (it separates the user-id from the password, RFC 7617)';
const SECRET_HEADER_PROBLEM = 'is the header of authType secret (secret.headerName)';
const AUTHORIZATION_ELSEWHERE =
  'is set by authType bearer, basic or oauth2 (for another scheme use authType secret with headerName Authorization)';

describe('authHeaderName', () => {
  it('is the secret header name for authType secret, X-Webhook-Secret by default', () => {
    expect(DEFAULT_SECRET_HEADER).toBe('X-Webhook-Secret');
    expect(authHeaderName({ authType: 'secret', secret: { headerName: 'X-Key', value: 'v' } })).toBe('X-Key');
    expect(authHeaderName({ authType: 'secret', secret: { value: 'v' } })).toBe('X-Webhook-Secret');
    expect(authHeaderName({ authType: 'secret' })).toBe('X-Webhook-Secret');
  });

  it.each(['bearer', 'basic', 'oauth2'])('is authorization for authType %s', (authType) => {
    expect(authHeaderName({ authType })).toBe('authorization');
  });

  it.each([undefined, 'none', 'other'])('is none for authType %s', (authType) => {
    expect(authHeaderName({ authType, secret: { headerName: 'X-Key', value: 'v' } })).toBeUndefined();
  });
});

describe('isProtectedCustomHeader', () => {
  it('protects reserved names and authorization in any case, whatever the auth', () => {
    for (const name of ['Content-Type', 'HOST', 'webhook-signature', 'Proxy-Authorization']) {
      expect(isProtectedCustomHeader(name, { authType: 'none' }), name).toBe(true);
    }
    expect(isProtectedCustomHeader('Authorization', { authType: 'none' })).toBe(true);
    expect(isProtectedCustomHeader('AUTHORIZATION', { authType: 'secret' })).toBe(true);
  });

  it('protects the secret header of a secret subscription, in any case', () => {
    const s = { authType: 'secret', secret: { headerName: 'X-Api-Key', value: 'v' } };
    expect(isProtectedCustomHeader('x-api-key', s)).toBe(true);
    expect(isProtectedCustomHeader('X-API-KEY', s)).toBe(true);
    expect(isProtectedCustomHeader('X-Webhook-Secret', s)).toBe(false);
    expect(isProtectedCustomHeader('x-webhook-secret', { authType: 'secret' })).toBe(true);
  });

  it('leaves every other name to the subscriber', () => {
    expect(isProtectedCustomHeader('X-Tenant', { authType: 'none' })).toBe(false);
    expect(isProtectedCustomHeader('X-Webhook-Secret', { authType: 'bearer' })).toBe(false);
    expect(
      isProtectedCustomHeader('X-Api-Key', {
        authType: 'none',
        secret: { headerName: 'X-Api-Key', value: 'v' },
      }),
    ).toBe(false);
  });
});

describe('headerRuleErrors', () => {
  it('finds nothing wrong in valid settings', () => {
    expect(headerRuleErrors({})).toEqual([]);
    expect(
      headerRuleErrors({
        authType: 'secret',
        secret: { headerName: 'X-Key', value: 'v a l\tue' },
        customHeaders: { 'X-Tenant': 'acme', 'X-Empty': '' },
      }),
    ).toEqual([]);
    expect(headerRuleErrors({ authType: 'bearer', bearer: { token: 'tok' } })).toEqual([]);
    expect(headerRuleErrors({ authType: 'basic', basic: { username: 'ünï', password: 'p:w' } })).toEqual([]);
  });

  it('checks the secret header name and value', () => {
    expect(
      headerRuleErrors({ authType: 'secret', secret: { headerName: 'X Key', value: 'a\r\nb' } }),
    ).toEqual([
      { path: '/secret/headerName', message: NAME_PROBLEM },
      { path: '/secret/value', message: VALUE_PROBLEM },
    ]);
    expect(headerRuleErrors({ authType: 'secret', secret: { headerName: 'Host', value: 'v' } })).toEqual([
      { path: '/secret/headerName', message: '"Host" is reserved: Hookline sets it itself' },
    ]);
    // Without a headerName the default is checked, and it is fine.
    expect(headerRuleErrors({ authType: 'secret', secret: { value: 'v' } })).toEqual([]);
  });

  it('checks the bearer token as a header value', () => {
    expect(headerRuleErrors({ authType: 'bearer', bearer: { token: 'a\nb' } })).toEqual([
      { path: '/bearer/token', message: VALUE_PROBLEM },
    ]);
  });

  it('checks basic credentials by RFC 7617: no controls, no ":" in the user-id', () => {
    expect(headerRuleErrors({ authType: 'basic', basic: { username: 'a:b', password: 'c:d' } })).toEqual([
      { path: '/basic/username', message: COLON_PROBLEM },
    ]);
    expect(headerRuleErrors({ authType: 'basic', basic: { username: 'a\tb', password: 'c\nd' } })).toEqual([
      { path: '/basic/username', message: CTL_PROBLEM },
      { path: '/basic/password', message: CTL_PROBLEM },
    ]);
  });

  it('checks each customHeaders name and value, with the name in the path', () => {
    expect(headerRuleErrors({ customHeaders: { 'X/A': 'ok', 'X-B': 'bad\u0000', 'a/b~c': 'x' } })).toEqual([
      { path: '/customHeaders/X~1A', message: NAME_PROBLEM },
      { path: '/customHeaders/X-B', message: VALUE_PROBLEM },
      { path: '/customHeaders/a~1b~0c', message: NAME_PROBLEM },
    ]);
    expect(headerRuleErrors({ customHeaders: { 'X A': 'a\rb' } })).toEqual([
      { path: '/customHeaders/X A', message: NAME_PROBLEM },
      { path: '/customHeaders/X A', message: VALUE_PROBLEM },
    ]);
    expect(headerRuleErrors({ customHeaders: { 'Content-Type': 'text/plain' } })).toEqual([
      { path: '/customHeaders/Content-Type', message: '"Content-Type" is reserved: Hookline sets it itself' },
    ]);
  });

  it.each(['bearer', 'basic', 'oauth2'])(
    'refuses an authorization custom header under authType %s',
    (authType) => {
      expect(headerRuleErrors({ authType, customHeaders: { Authorization: 'x' } })).toEqual([
        { path: '/customHeaders/Authorization', message: `is set by authType ${authType}` },
      ]);
    },
  );

  it.each([undefined, 'none', 'secret'])(
    'points elsewhere for an authorization custom header under authType %s',
    (authType) => {
      expect(headerRuleErrors({ authType, customHeaders: { authorization: 'x' } })).toEqual([
        { path: '/customHeaders/authorization', message: AUTHORIZATION_ELSEWHERE },
      ]);
    },
  );

  it('refuses the secret header as a custom header, in any case', () => {
    expect(
      headerRuleErrors({
        authType: 'secret',
        secret: { headerName: 'X-Key', value: 'v' },
        customHeaders: { 'x-key': 'a', 'X-Other': 'b' },
      }),
    ).toEqual([{ path: '/customHeaders/x-key', message: SECRET_HEADER_PROBLEM }]);
    expect(
      headerRuleErrors({
        authType: 'secret',
        secret: { value: 'v' },
        customHeaders: { 'X-WEBHOOK-SECRET': 'a' },
      }),
    ).toEqual([{ path: '/customHeaders/X-WEBHOOK-SECRET', message: SECRET_HEADER_PROBLEM }]);
  });

  it('refuses a name repeated in another case, naming the first spelling', () => {
    expect(headerRuleErrors({ customHeaders: { 'X-A': '1', 'x-a': '2', 'X-a': '3', 'X-B': '4' } })).toEqual([
      { path: '/customHeaders/x-a', message: 'repeats "X-A" (header names are case-insensitive)' },
      { path: '/customHeaders/X-a', message: 'repeats "X-A" (header names are case-insensitive)' },
    ]);
  });

  it('reports a bad name rather than the repeat, and checks a repeat’s value too', () => {
    expect(headerRuleErrors({ customHeaders: { host: '1', HOST: 'a\nb' } })).toEqual([
      { path: '/customHeaders/host', message: '"host" is reserved: Hookline sets it itself' },
      { path: '/customHeaders/HOST', message: '"HOST" is reserved: Hookline sets it itself' },
      { path: '/customHeaders/HOST', message: VALUE_PROBLEM },
    ]);
  });
});
