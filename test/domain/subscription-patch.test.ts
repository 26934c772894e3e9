// PATCH /v1/subscriptions/:id semantics: JSON Merge Patch (RFC 7396), the atomic filter, the
// authType switch, and the derived PATCH body schema. Pure, no I/O.
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import type { Subscription } from '../../src/domain/subscription.js';
import { SubscriptionInputSchema } from '../../src/domain/subscription.js';
import {
  applyPatch,
  mergePatch,
  SubscriptionPatchSchema,
  writableFields,
} from '../../src/domain/subscription-patch.js';

const stored = (extra: Partial<Subscription> = {}): Subscription => ({
  id: 'sub_1',
  tenantId: 'tnt_a',
  webhookUrl: 'https://example.com/hook',
  description: 'orders',
  events: ['message.*'],
  channels: ['sms'],
  senders: [],
  reportType: 'all',
  filter: { and: [{ path: '$.data.a', op: 'eq', value: 1 }] },
  format: 'native',
  method: 'POST',
  encoding: 'json',
  customHeaders: { 'X-A': '1', 'X-B': '2' },
  authType: 'bearer',
  bearer: { token: 'tok' },
  timeoutMs: 10_000,
  maxRetries: 10,
  status: 'active',
  signingSecrets: [{ secret: 'whsec_x' }],
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
  authVersion: 3,
  ...extra,
});

describe('mergePatch (RFC 7396)', () => {
  // The examples of RFC 7396 Appendix A.
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])('merges %j with %j into %j', (target, patch, result) => {
    expect(mergePatch(target, patch)).toStrictEqual(result);
  });

  it('leaves the target untouched', () => {
    const target = { a: { b: 1 }, c: 2 };
    mergePatch(target, { a: { b: 3 }, c: null });
    expect(target).toStrictEqual({ a: { b: 1 }, c: 2 });
  });
});

describe('writableFields', () => {
  it('keeps the writable fields that are set, as copies, and nothing stored-only', () => {
    const sub = stored();
    const fields = writableFields(sub);
    expect(Object.keys(fields).sort()).toEqual(
      [
        'authType',
        'bearer',
        'channels',
        'customHeaders',
        'description',
        'encoding',
        'events',
        'filter',
        'format',
        'maxRetries',
        'method',
        'reportType',
        'senders',
        'timeoutMs',
        'webhookUrl',
      ].sort(),
    );
    expect(fields.customHeaders).toStrictEqual(sub.customHeaders);
    (fields.customHeaders as Record<string, string>)['X-A'] = 'changed';
    expect(sub.customHeaders!['X-A']).toBe('1');
  });
});

describe('applyPatch', () => {
  it('merges objects, replaces arrays and removes nulls', () => {
    const out = applyPatch(stored(), {
      description: null,
      channels: ['whatsapp'],
      customHeaders: { 'X-A': null, 'X-C': '3' },
      timeoutMs: 5000,
    });
    expect(out).not.toHaveProperty('description');
    expect(out.channels).toEqual(['whatsapp']);
    expect(out.customHeaders).toStrictEqual({ 'X-B': '2', 'X-C': '3' });
    expect(out.timeoutMs).toBe(5000);
    expect(out.webhookUrl).toBe('https://example.com/hook');
  });

  it('replaces the filter whole instead of merging it', () => {
    const filter = { or: [{ path: '$.data.b', op: 'exists' }] };
    expect(applyPatch(stored(), { filter }).filter).toStrictEqual(filter);
    const withNull = { path: '$.data.c', op: 'eq', value: null };
    // A null inside a filter is a value, not a removal.
    expect(
      applyPatch(stored({ filter: { path: '$.data.c', op: 'exists' } }), { filter: withNull }).filter,
    ).toStrictEqual(withNull);
  });

  it('removes the filter on null and keeps it when the patch does not name it', () => {
    expect(applyPatch(stored(), { filter: null })).not.toHaveProperty('filter');
    expect(applyPatch(stored(), { description: 'x' }).filter).toStrictEqual(stored().filter);
  });

  it('switching authType drops the previous kind, unless the patch names it', () => {
    const out = applyPatch(stored(), { authType: 'none' });
    expect(out.authType).toBe('none');
    expect(out).not.toHaveProperty('bearer');

    const basic = { username: 'u', password: 'p' };
    const toBasic = applyPatch(stored(), { authType: 'basic', basic });
    expect(toBasic).not.toHaveProperty('bearer');
    expect(toBasic.basic).toStrictEqual(basic);

    // Naming the old kind keeps it (the merged body is then refused by the rules, clearly).
    expect(applyPatch(stored(), { authType: 'none', bearer: { token: 't2' } }).bearer).toStrictEqual({
      token: 't2',
    });
  });

  it('keeps the auth settings when authType is unchanged or not a string', () => {
    expect(applyPatch(stored(), { authType: 'bearer' }).bearer).toStrictEqual({ token: 'tok' });
    expect(applyPatch(stored(), { bearer: { token: 't2' } }).bearer).toStrictEqual({ token: 't2' });
    expect(applyPatch(stored(), { authType: null })).toHaveProperty('bearer');
  });

  it('does not touch the stored subscription', () => {
    const sub = stored();
    applyPatch(sub, { customHeaders: { 'X-A': null }, filter: null, authType: 'none' });
    expect(sub).toStrictEqual(stored());
  });
});

describe('SubscriptionPatchSchema', () => {
  const patch = Compile(SubscriptionPatchSchema as never);
  const full = Compile(SubscriptionInputSchema);

  it('takes any subset of the writable fields, the empty patch too', () => {
    expect(patch.Check({})).toBe(true);
    expect(patch.Check({ timeoutMs: 2000 })).toBe(true);
    expect(patch.Check({ events: ['*'], webhookUrl: 'https://x.example/' })).toBe(true);
  });

  it('lets optional fields, map values and nested optional fields be null', () => {
    for (const key of [
      'description',
      'channels',
      'filter',
      'customHeaders',
      'oauth2',
      'rateLimit',
      'format',
    ]) {
      expect(patch.Check({ [key]: null }), key).toBe(true);
    }
    expect(patch.Check({ customHeaders: { 'X-A': null } })).toBe(true);
    expect(patch.Check({ secret: { headerName: null } })).toBe(true);
    expect(patch.Check({ fieldNames: { mobile: null } })).toBe(true);
  });

  it('refuses null for required fields, at the top and nested', () => {
    expect(patch.Check({ webhookUrl: null })).toBe(false);
    expect(patch.Check({ events: null })).toBe(false);
    expect(patch.Check({ secret: { value: null } })).toBe(false);
    expect(patch.Check({ rateLimit: { perSecond: null } })).toBe(false);
  });

  it('keeps every other constraint of the full schema', () => {
    expect(patch.Check({ format: 'bogus' })).toBe(false);
    expect(patch.Check({ format: 'meta' })).toBe(true);
    expect(patch.Check({ timeoutMs: 10 })).toBe(false);
    expect(patch.Check({ bogus: 1 })).toBe(false);
    expect(patch.Check({ secret: { value: 'v', extra: 1 } })).toBe(false);
    expect(patch.Check({ customHeaders: { 'X-A': 5 } })).toBe(false);
    expect(patch.Check({ events: ['message.sent', 'nope'] })).toBe(false);
  });

  it('is its own schema: no $id, no required list, a description of its semantics', () => {
    expect(SubscriptionPatchSchema.$id).toBeUndefined();
    expect(SubscriptionPatchSchema.required).toBeUndefined();
    expect(SubscriptionPatchSchema.description).toMatch(/RFC 7396/);
    // The full schema is unchanged by the derivation.
    expect(full.Check({ events: ['*'] })).toBe(false);
    expect(full.Check({ webhookUrl: 'https://x.example/', events: ['*'], description: null })).toBe(false);
  });
});
