// Shared pieces of the security tests: a made-up DNS zone (loopback answers only) and the
// problem+json shape every refusal must have.
import type { LookupAddress } from 'node:dns';
import { expect } from 'vitest';
import type { SsrfLookup } from '../../src/delivery/ssrf.js';

export interface Problem {
  status: number;
  title: string;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
}

/** A resolver over a mutable zone; unknown names fail like getaddrinfo, nothing reaches real DNS. */
export function zoneLookup(zone: Record<string, string[]>): SsrfLookup {
  return async (host) => {
    const found = zone[host.toLowerCase()];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

/** Asserts an answer is application/problem+json with a status, a code and (optionally) one field path. */
export function expectProblem(
  res: { status: number; body: unknown; headers: Record<string, unknown>; raw: string },
  status: number,
  code: string,
  path?: string,
): Problem {
  expect(res.status, res.raw).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const body = res.body as Problem;
  expect(body).toMatchObject({ status, code });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  if (path !== undefined)
    expect(
      body.errors?.map((e) => e.path),
      res.raw,
    ).toContain(path);
  return body;
}

/** An event body for `tenantId`: a delivered SMS with a fresh messageId; `extra` adds or replaces fields. */
export const deliveredEvent = (tenantId: string, extra: Record<string, unknown> = {}) => ({
  tenantId,
  type: 'message.delivered',
  channel: 'sms',
  messageId: `m_${Math.random().toString(36).slice(2)}`,
  ...extra,
});

export const uniqueTenant = (label: string) => `t_${label}_${Math.random().toString(36).slice(2, 10)}`;
