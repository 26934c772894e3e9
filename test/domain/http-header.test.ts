// The header name and value rules (src/domain/http-header.ts) that keep undici from refusing
// a request Hookline builds.
import { describe, expect, it } from 'vitest';
import {
  basicCredentialProblem,
  headerNameProblem,
  headerValueProblem,
  isHeaderName,
  isHeaderValue,
  isReservedHeaderName,
} from '../../src/domain/http-header.js';

const NAME_PROBLEM = "must be an HTTP token (letters, digits and !#$%&'*+-.^_`|~), at most 256 characters";
const VALUE_PROBLEM =
  'must be visible ASCII, spaces or tabs (no CR, LF, NUL or other control characters), at most 8192 characters';

describe('header names', () => {
  it('are RFC 9110 tokens of at most 256 characters', () => {
    expect(isHeaderName("X-Az09!#$%&'*+-.^_`|~")).toBe(true);
    expect(isHeaderName('a'.repeat(256))).toBe(true);
    expect(isHeaderName('a'.repeat(257))).toBe(false);
    for (const bad of [
      '',
      'X A',
      'X:A',
      'X\r\nA',
      'X"',
      'X(A)',
      'X/A',
      'é',
      'X\tA',
      'X@A',
      'X,A',
      'X;A',
      'X=A',
    ]) {
      expect(isHeaderName(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it.each([
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
    'webhook-signature',
    'Webhook-Id',
    'proxy-authorization',
    'Proxy-Anything',
  ])('%s is reserved, in any case', (name) => {
    expect(isReservedHeaderName(name)).toBe(true);
    expect(isReservedHeaderName(name.toUpperCase())).toBe(true);
    expect(headerNameProblem(name)).toBe(`"${name}" is reserved: Hookline sets it itself`);
  });

  it.each(['authorization', 'x-webhook-secret', 'x-proxy', 'webhook', 'tea', 'hosts', 'x-content-type'])(
    '%s is not reserved',
    (name) => {
      expect(isReservedHeaderName(name)).toBe(false);
      expect(headerNameProblem(name)).toBeUndefined();
    },
  );

  it('a non-token name is refused before the reserved check', () => {
    expect(headerNameProblem('X A')).toBe(NAME_PROBLEM);
    expect(headerNameProblem('')).toBe(NAME_PROBLEM);
  });
});

describe('header values', () => {
  it('are visible ASCII, spaces and tabs, at most 8192 characters', () => {
    expect(isHeaderValue('')).toBe(true);
    expect(isHeaderValue(' Bearer a.b-c~d\t!~ ')).toBe(true);
    expect(isHeaderValue('x'.repeat(8192))).toBe(true);
    expect(isHeaderValue('x'.repeat(8193))).toBe(false);
    for (const bad of ['a\rb', 'a\nb', 'a\0b', 'a\x7fb', 'a\x1fb', 'é', 'a\u2028b']) {
      expect(isHeaderValue(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('name their problem', () => {
    expect(headerValueProblem('ok value')).toBeUndefined();
    expect(headerValueProblem('a\r\nSet-Cookie: x')).toBe(VALUE_PROBLEM);
  });
});

describe('basic credentials (RFC 7617)', () => {
  const CTL = 'must not contain control characters (CR, LF, NUL, tab…), RFC 7617';
  const COLON = 'must not contain ":" (it separates the user-id from the password, RFC 7617)';

  it('accept any text without control characters, Unicode included', () => {
    for (const part of ['user-id', 'password'] as const) {
      expect(basicCredentialProblem('', part)).toBeUndefined();
      expect(basicCredentialProblem('Ünïcödé user ✓ 😀 ~', part)).toBeUndefined();
      expect(basicCredentialProblem('\u0080\u00a0', part)).toBeUndefined();
    }
  });

  it.each(['\u0000', '\t', '\r', '\n', '\u001f', '\u007f'])('refuse control character %j anywhere', (c) => {
    for (const part of ['user-id', 'password'] as const) {
      expect(basicCredentialProblem(`${c}ab`, part)).toBe(CTL);
      expect(basicCredentialProblem(`a${c}b`, part)).toBe(CTL);
      expect(basicCredentialProblem(`ab${c}`, part)).toBe(CTL);
    }
  });

  it('refuse ":" in the user-id only', () => {
    expect(basicCredentialProblem('a:b', 'user-id')).toBe(COLON);
    expect(basicCredentialProblem(':', 'user-id')).toBe(COLON);
    expect(basicCredentialProblem('a:b', 'password')).toBeUndefined();
    expect(basicCredentialProblem('a:\nb', 'user-id')).toBe(CTL);
  });
});
