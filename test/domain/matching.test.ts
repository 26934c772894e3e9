// Which subscriptions an event reaches (SPEC §3, §8): the attribute rules, the ten filter
// operators, and/or/not nesting, path reading and the filter shape check. Pure, no I/O.
import { describe, expect, it } from 'vitest';
import type { HooklineEvent } from '../../src/domain/event.js';
import { coversEvent, evaluateFilter, filterErrors, matches, readPath } from '../../src/domain/matching.js';
import type { Subscription } from '../../src/domain/subscription.js';

const event = (extra: Partial<HooklineEvent> = {}): HooklineEvent => ({
  id: 'evt_1',
  tenantId: 'tnt_a',
  type: 'message.delivered',
  channel: 'whatsapp',
  subProduct: 'transactional',
  messageId: 'msg_1',
  sender: 'ACME',
  recipient: '15550100000',
  occurredAt: '2025-01-01T00:00:00.000Z',
  acceptedAt: 0,
  data: {
    kind: 'otp',
    price: 5,
    tags: ['vip', 'eu'],
    nothing: null,
    nested: { deep: { value: 'x' } },
    $ref: 'dollar',
    ref: 'plain',
  },
  ...extra,
});

const sub = (extra: Partial<Subscription> = {}): Subscription => ({
  id: 'sub_1',
  tenantId: 'tnt_a',
  webhookUrl: 'https://example.com/hook',
  events: ['*'],
  channels: [],
  senders: [],
  reportType: 'all',
  format: 'native',
  method: 'POST',
  encoding: 'json',
  authType: 'none',
  timeoutMs: 10_000,
  maxRetries: 10,
  status: 'active',
  signingSecrets: [],
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:00:00.000Z',
  authVersion: 1,
  ...extra,
});

const leaf = (path: string, op: string, value?: unknown) =>
  value === undefined ? { path, op } : { path, op, value };
const check = (filter: Record<string, unknown>, e: HooklineEvent = event()) => evaluateFilter(filter, e);

describe('matches: the attribute rules', () => {
  it('matches a catch-all subscription of the same tenant', () => {
    expect(matches(sub(), event())).toBe(true);
  });

  it('never matches a deleted subscription or another tenant', () => {
    expect(matches(sub({ deletedAt: '2025-01-02T00:00:00.000Z' }), event())).toBe(false);
    expect(matches(sub({ tenantId: 'tnt_b' }), event())).toBe(false);
  });

  it('needs an event pattern that covers the type', () => {
    expect(matches(sub({ events: ['message.*'] }), event())).toBe(true);
    expect(matches(sub({ events: ['message.delivered'] }), event())).toBe(true);
    expect(matches(sub({ events: ['auth.*', 'message.read'] }), event())).toBe(false);
  });

  it('filters on channel only when both sides name one', () => {
    expect(matches(sub({ channels: ['whatsapp', 'sms'] }), event())).toBe(true);
    expect(matches(sub({ channels: ['sms'] }), event())).toBe(false);
    expect(matches(sub({ channels: ['sms'] }), event({ channel: undefined }))).toBe(true);
    expect(matches(sub({ channels: [] }), event({ channel: 'email' }))).toBe(true);
  });

  it('filters on subProduct only when both sides name one', () => {
    expect(matches(sub({ subProduct: 'transactional' }), event())).toBe(true);
    expect(matches(sub({ subProduct: 'conversational' }), event())).toBe(false);
    expect(matches(sub({ subProduct: 'conversational' }), event({ subProduct: undefined }))).toBe(true);
    expect(matches(sub(), event({ subProduct: 'conversational' }))).toBe(true);
  });

  it('with senders listed, needs the event to come from one of them', () => {
    expect(matches(sub({ senders: ['OTHER', 'ACME'] }), event())).toBe(true);
    expect(matches(sub({ senders: ['OTHER'] }), event())).toBe(false);
    expect(matches(sub({ senders: ['ACME'] }), event({ sender: undefined }))).toBe(false);
    expect(matches(sub({ senders: [] }), event({ sender: undefined }))).toBe(true);
  });

  it('reportType final drops non-final statuses only', () => {
    const final = sub({ reportType: 'final' });
    expect(matches(final, event({ type: 'message.sent' }))).toBe(false);
    expect(matches(final, event({ type: 'message.read' }))).toBe(false);
    expect(matches(final, event({ type: 'message.delivered' }))).toBe(true);
    expect(matches(final, event({ type: 'message.failed' }))).toBe(true);
    // Replies and auth events are not delivery reports.
    expect(matches(final, event({ type: 'message.reply' }))).toBe(true);
    expect(matches(final, event({ type: 'auth.success' }))).toBe(true);
    expect(matches(sub({ reportType: 'all' }), event({ type: 'message.sent' }))).toBe(true);
  });

  it('applies the payload filter last', () => {
    expect(matches(sub({ filter: leaf('$.data.kind', 'eq', 'otp') }), event())).toBe(true);
    expect(matches(sub({ filter: leaf('$.data.kind', 'eq', 'promo') }), event())).toBe(false);
  });
});

describe('operational events (SPEC §9)', () => {
  const ops = (
    type: 'subscription.disabled' | 'delivery.exhausted',
    data: Record<string, unknown> | undefined,
  ) =>
    event({ type, channel: undefined, subProduct: undefined, messageId: undefined, sender: undefined, data });

  it('are covered by their exact type or their own family pattern, never by *', () => {
    expect(coversEvent(['subscription.disabled'], 'subscription.disabled')).toBe(true);
    expect(coversEvent(['subscription.*'], 'subscription.disabled')).toBe(true);
    expect(coversEvent(['delivery.*'], 'delivery.exhausted')).toBe(true);
    expect(coversEvent(['*', 'delivery.*'], 'delivery.exhausted')).toBe(true);
    expect(coversEvent(['*'], 'subscription.disabled')).toBe(false);
    expect(coversEvent(['*', 'message.*'], 'delivery.exhausted')).toBe(false);
    expect(coversEvent(['delivery.*'], 'subscription.disabled')).toBe(false);
    expect(coversEvent([], 'delivery.exhausted')).toBe(false);
  });

  it('leave message patterns as they are: * covers every message type', () => {
    expect(coversEvent(['*'], 'message.sent')).toBe(true);
    expect(coversEvent(['message.*'], 'message.sent')).toBe(true);
    expect(coversEvent(['auth.*'], 'message.sent')).toBe(false);
  });

  it('reach a subscription that asks for them, not a catch-all one', () => {
    const disabled = ops('subscription.disabled', { subscriptionId: 'sub_other', reason: 'gone' });
    expect(matches(sub({ id: 'sub_watch', events: ['subscription.*'] }), disabled)).toBe(true);
    expect(matches(sub({ id: 'sub_watch', events: ['*'] }), disabled)).toBe(false);
    expect(matches(sub({ events: ['delivery.exhausted'] }), ops('delivery.exhausted', undefined))).toBe(true);
  });

  it('never reach the subscription they are about', () => {
    const about = (id: string) => ops('subscription.disabled', { subscriptionId: id, reason: 'failing' });
    expect(matches(sub({ id: 'sub_1', events: ['subscription.*'] }), about('sub_1'))).toBe(false);
    expect(matches(sub({ id: 'sub_2', events: ['subscription.*'] }), about('sub_1'))).toBe(true);
    const exhausted = ops('delivery.exhausted', { deliveryId: 'dlv_1', subscriptionId: 'sub_1' });
    expect(matches(sub({ id: 'sub_1', events: ['delivery.*'] }), exhausted)).toBe(false);
    // A message event's data may name a subscription: that excludes nothing.
    expect(matches(sub({ id: 'sub_1' }), event({ data: { subscriptionId: 'sub_1' } }))).toBe(true);
  });
});

describe('readPath', () => {
  const e = event();

  it('reads with or without the leading $', () => {
    expect(readPath(e, '$.data.kind')).toBe('otp');
    expect(readPath(e, 'data.kind')).toBe('otp');
    expect(readPath(e, '$data.kind')).toBe('otp');
    expect(readPath(e, '$.channel')).toBe('whatsapp');
  });

  it('reads the whole event for an empty path and skips empty segments', () => {
    expect(readPath(e, '$')).toBe(e);
    expect(readPath(e, '')).toBe(e);
    expect(readPath(e, '$.data..nested.deep.value')).toBe('x');
    expect(readPath(e, 'data.kind.')).toBe('otp');
  });

  it('strips only a leading $: a key may contain one', () => {
    expect(readPath(e, 'data.$ref')).toBe('dollar');
    expect(readPath(e, '$.data.$ref')).toBe('dollar');
  });

  it('is undefined for a missing path, through null and through scalars', () => {
    expect(readPath(e, '$.data.missing.deeper')).toBeUndefined();
    expect(readPath(e, '$.data.nothing.deeper')).toBeUndefined();
    expect(readPath(e, '$.data.kind.length')).toBeUndefined();
    expect(readPath(e, '$.data.price.toFixed')).toBeUndefined();
    expect(readPath(null, 'a')).toBeUndefined();
  });

  it('reads array items by index', () => {
    expect(readPath(e, '$.data.tags.1')).toBe('eu');
  });
});

describe('evaluateFilter: the ten operators', () => {
  it('eq is strict equality', () => {
    expect(check(leaf('$.data.kind', 'eq', 'otp'))).toBe(true);
    expect(check(leaf('$.data.kind', 'eq', 'promo'))).toBe(false);
    expect(check(leaf('$.data.price', 'eq', 5))).toBe(true);
    expect(check(leaf('$.data.price', 'eq', '5'))).toBe(false);
    expect(check(leaf('$.data.nothing', 'eq', null))).toBe(true);
    expect(check(leaf('$.data.missing', 'eq', null))).toBe(false);
  });

  it('neq is strict inequality (a missing path is not equal)', () => {
    expect(check(leaf('$.data.kind', 'neq', 'promo'))).toBe(true);
    expect(check(leaf('$.data.kind', 'neq', 'otp'))).toBe(false);
    expect(check(leaf('$.data.price', 'neq', '5'))).toBe(true);
    expect(check(leaf('$.data.missing', 'neq', 'otp'))).toBe(true);
  });

  it('in needs an array holding the value', () => {
    expect(check(leaf('$.data.kind', 'in', ['promo', 'otp']))).toBe(true);
    expect(check(leaf('$.data.kind', 'in', ['promo']))).toBe(false);
    expect(check(leaf('$.data.price', 'in', ['5']))).toBe(false);
    expect(check(leaf('$.data.kind', 'in', 'otp'))).toBe(false);
    expect(check(leaf('$.data.missing', 'in', ['otp']))).toBe(false);
  });

  it('nin needs an array without the value', () => {
    expect(check(leaf('$.data.kind', 'nin', ['promo']))).toBe(true);
    expect(check(leaf('$.data.kind', 'nin', ['promo', 'otp']))).toBe(false);
    expect(check(leaf('$.data.missing', 'nin', ['otp']))).toBe(true);
    // Not an array: no match either way.
    expect(check(leaf('$.data.kind', 'nin', 'promo'))).toBe(false);
  });

  it('exists is true unless value is false, and null exists', () => {
    expect(check(leaf('$.data.kind', 'exists'))).toBe(true);
    expect(check(leaf('$.data.kind', 'exists', true))).toBe(true);
    expect(check(leaf('$.data.kind', 'exists', false))).toBe(false);
    expect(check(leaf('$.data.missing', 'exists'))).toBe(false);
    expect(check(leaf('$.data.missing', 'exists', true))).toBe(false);
    expect(check(leaf('$.data.missing', 'exists', false))).toBe(true);
    expect(check(leaf('$.data.nothing', 'exists'))).toBe(true);
    // Only the boolean false negates it.
    expect(check(leaf('$.data.kind', 'exists', 0))).toBe(true);
  });

  it('contains searches strings (value written out) and arrays (strictly)', () => {
    expect(check(leaf('$.data.kind', 'contains', 't'))).toBe(true);
    expect(check(leaf('$.data.kind', 'contains', 'x'))).toBe(false);
    expect(check(leaf('$.recipient', 'contains', 555))).toBe(true);
    expect(check(leaf('$.data.tags', 'contains', 'eu'))).toBe(true);
    expect(check(leaf('$.data.tags', 'contains', 'us'))).toBe(false);
    expect(check(leaf('$.data.tags', 'contains', 'e'))).toBe(false);
    expect(check(leaf('$.data.price', 'contains', 5))).toBe(false);
    expect(check(leaf('$.data.missing', 'contains', 'undefined'))).toBe(false);
  });

  it.each([
    ['gt', [false, false, true]],
    ['gte', [false, true, true]],
    ['lt', [true, false, false]],
    ['lte', [true, true, false]],
  ] as const)('%s compares numbers at the boundary', (op, [above, equal, below]) => {
    // price is 5: compared with 6, 5 and 4.
    expect(check(leaf('$.data.price', op, 6))).toBe(above);
    expect(check(leaf('$.data.price', op, 5))).toBe(equal);
    expect(check(leaf('$.data.price', op, 4))).toBe(below);
  });

  it.each(['gt', 'gte', 'lt', 'lte'])(
    '%s reads a numeric string value but never a non-number field',
    (op) => {
      const wide = op.startsWith('g') ? '-1' : '100';
      expect(check(leaf('$.data.price', op, wide))).toBe(true);
      expect(check(leaf('$.recipient', op, wide))).toBe(false);
      expect(check(leaf('$.data.missing', op, wide))).toBe(false);
      // null compares as 0 in JavaScript, never here.
      expect(check(leaf('$.data.nothing', op, wide))).toBe(false);
    },
  );

  it('an unknown or missing operator never matches', () => {
    expect(check(leaf('$.data.kind', 'like', 'otp'))).toBe(false);
    expect(check({ path: '$.data.kind', value: 'otp' })).toBe(false);
  });

  it('a leaf without a path reads the whole event', () => {
    expect(check({ op: 'exists' })).toBe(true);
  });
});

describe('evaluateFilter: and / or / not', () => {
  const yes = leaf('$.data.kind', 'eq', 'otp');
  const no = leaf('$.data.kind', 'eq', 'promo');

  it('and needs every branch, or needs one', () => {
    expect(check({ and: [yes, yes] })).toBe(true);
    expect(check({ and: [yes, no] })).toBe(false);
    expect(check({ and: [no, yes] })).toBe(false);
    expect(check({ or: [no, yes] })).toBe(true);
    expect(check({ or: [no, no] })).toBe(false);
  });

  it('not inverts its operand', () => {
    expect(check({ not: yes })).toBe(false);
    expect(check({ not: no })).toBe(true);
    expect(check({ not: { not: yes } })).toBe(true);
  });

  it('a not that is not an object is a leaf without an operator', () => {
    expect(check({ not: true })).toBe(false);
  });

  it('nests', () => {
    const f = {
      and: [
        { or: [no, leaf('$.data.tags', 'contains', 'vip')] },
        { not: { and: [yes, leaf('$.data.price', 'gt', 10)] } },
      ],
    };
    expect(check(f)).toBe(true);
    expect(check(f, event({ data: { kind: 'otp', price: 11, tags: ['vip'] } }))).toBe(false);
    expect(check(f, event({ data: { kind: 'otp', price: 1, tags: [] } }))).toBe(false);
  });

  it('and takes precedence over or and not in the same object', () => {
    expect(check({ and: [yes], or: [no], not: yes })).toBe(true);
    expect(check({ or: [yes], not: yes })).toBe(true);
  });
});

const LIMITS = { maxBytes: 16_384, maxDepth: 10 };

describe('filterErrors', () => {
  it('accepts every operator on a leaf and nested and/or/not', () => {
    for (const op of ['eq', 'neq', 'in', 'nin', 'exists', 'contains', 'gt', 'gte', 'lt', 'lte']) {
      expect(filterErrors({ path: '$.a', op, value: 1 }, LIMITS)).toEqual([]);
    }
    expect(filterErrors({ path: '$.a', op: 'exists' }, LIMITS)).toEqual([]);
    expect(
      filterErrors(
        {
          and: [{ path: '$.a', op: 'eq', value: 1 }, { or: [{ not: { path: '$.b', op: 'exists' } }] }],
        },
        LIMITS,
      ),
    ).toEqual([]);
  });

  it.each([null, 'x', 1, [], undefined])('refuses a non-object filter (%j)', (f) => {
    expect(filterErrors(f, LIMITS)).toEqual([{ path: '/filter', message: 'must be an object' }]);
  });

  it.each(['and', 'or'])('needs %s to be a non-empty array', (key) => {
    const error = [{ path: `/filter/${key}`, message: 'must be a non-empty array' }];
    expect(filterErrors({ [key]: [] }, LIMITS)).toEqual(error);
    expect(filterErrors({ [key]: { path: '$.a', op: 'eq' } }, LIMITS)).toEqual(error);
  });

  it('refuses a filter larger than maxBytes of JSON, counting UTF-8 bytes', () => {
    const f = { path: '$.data.kind', op: 'eq', value: 'é' };
    const bytes = Buffer.byteLength(JSON.stringify(f));
    expect(bytes).toBe(JSON.stringify(f).length + 1);
    expect(filterErrors(f, { maxBytes: bytes, maxDepth: 10 })).toEqual([]);
    expect(filterErrors(f, { maxBytes: bytes - 1, maxDepth: 10 })).toEqual([
      { path: '/filter', message: `is ${bytes} bytes of JSON; the limit is ${bytes - 1}` },
    ]);
    // Nothing to serialise counts as 0 bytes: the shape check answers.
    expect(filterErrors(undefined, { maxBytes: 1, maxDepth: 10 })).toEqual([
      { path: '/filter', message: 'must be an object' },
    ]);
  });

  it('refuses a filter nested deeper than maxDepth before checking its shape', () => {
    const f = { not: { not: { path: '$.a', op: 'exists' } } };
    expect(filterErrors(f, { maxBytes: 16_384, maxDepth: 3 })).toEqual([]);
    expect(filterErrors(f, { maxBytes: 16_384, maxDepth: 2 })).toEqual([
      { path: '/filter', message: 'nests objects and arrays deeper than 2 levels' },
    ]);
    expect(filterErrors({ and: [[[]]] }, { maxBytes: 16_384, maxDepth: 4 })).toEqual([
      { path: '/filter/and/0', message: 'must be an object' },
    ]);
    expect(filterErrors({ and: [[[]]] }, { maxBytes: 16_384, maxDepth: 3 })[0]!.message).toBe(
      'nests objects and arrays deeper than 3 levels',
    );
  });

  it('names the bad branch by its path', () => {
    expect(
      filterErrors(
        {
          or: [
            { path: '$.a', op: 'eq' },
            { path: '', op: 'nope', extra: 1 },
          ],
        },
        LIMITS,
      ),
    ).toEqual([
      { path: '/filter/or/1/path', message: 'must be a path such as $.data.channel' },
      {
        path: '/filter/or/1/op',
        message: 'must be one of eq, neq, in, nin, exists, contains, gt, gte, lt, lte',
      },
      { path: '/filter/or/1/extra', message: 'is not a known field' },
    ]);
    expect(filterErrors({ not: 'x' }, LIMITS)).toEqual([
      { path: '/filter/not', message: 'must be an object' },
    ]);
    expect(filterErrors({ and: [{ path: 5, op: 'eq' }] }, LIMITS)).toEqual([
      { path: '/filter/and/0/path', message: 'must be a path such as $.data.channel' },
    ]);
  });
});
