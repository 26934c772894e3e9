// The Redis history's compact layout (src/store/delivery-layout.ts): attempts, records and events read back exactly
// as written, whatever their times and headers; the older layout still read.
import { describe, expect, it } from 'vitest';
import type { Attempt } from '../../src/domain/delivery-record.js';
import {
  EVENT_TYPES,
  EventInputSchema,
  OPERATIONAL_EVENT_TYPES,
  type HooklineEvent,
} from '../../src/domain/event.js';
import {
  attemptFromRedis,
  attemptToRedis,
  eventFromRedis,
  eventToRedis,
  recordFromRedis,
} from '../../src/store/delivery-layout.js';

const created = Date.parse('2026-03-01T10:00:00.000Z');

/** The tuple as the writing script stores it: the leading 0 replaced by the offset from `created`. */
function roundTrip(a: Attempt): Attempt {
  const { startedMs, tuple } = attemptToRedis(a);
  const stored = startedMs === undefined ? tuple : `[${startedMs - created}${tuple.slice(2)}`;
  return attemptFromRedis(JSON.parse(stored) as unknown[], created);
}

const ok: Attempt = {
  n: 1,
  startedAt: '2026-03-01T10:00:00.120Z',
  durationMs: 3,
  statusCode: 200,
  error: null,
  responseHeaders: {
    date: 'Sun, 01 Mar 2026 10:00:00 GMT',
    connection: 'keep-alive',
    'keep-alive': 'timeout=5',
    'content-length': '0',
  },
  responseBody: '',
};

describe('Redis delivery layout', () => {
  it('stores a plain successful attempt in a few bytes and reads it back whole', () => {
    const { tuple } = attemptToRedis(ok);
    expect(tuple.length).toBeLessThanOrEqual(24);
    expect(roundTrip(ok)).toEqual(ok);
  });

  it('keeps every other attempt exactly: errors, bodies, odd headers and times, extra fields', () => {
    const cases: Attempt[] = [
      { ...ok, responseHeaders: {}, responseBody: '' },
      { ...ok, statusCode: null, error: { code: 'timeout', message: 'no response' }, responseHeaders: {} },
      { ...ok, responseBody: 'ok', responseHeaders: { 'x-custom': 'v', server: 'nginx' } },
      // A date before the start (the receiver's clock behind), one not canonical, one unparsable.
      { ...ok, responseHeaders: { date: 'Sun, 01 Mar 2026 09:59:58 GMT' } },
      { ...ok, responseHeaders: { date: 'Sunday, 01-Mar-26 10:00:00 GMT' } },
      { ...ok, responseHeaders: { date: 'soon' } },
      { ...ok, startedAt: '2026-03-01T11:00:00Z' }, // not as Hookline writes times: kept as given
      { ...ok, n: 3, durationMs: 1.5, statusCode: 500, error: { code: 'http_error', message: 'x' } },
      { ...ok, error: { code: 'c', message: 'm', extra: 1 } as unknown as Attempt['error'] },
      { ...ok, ...({ retryAfterMs: 5 } as object) },
    ];
    for (const a of cases) expect(roundTrip(a)).toEqual(a);
  });

  it('stores an event without its tenant, id and derivable times, and reads it back whole', () => {
    const e: HooklineEvent = {
      id: 'evt_1',
      tenantId: 't1',
      type: 'message.delivered',
      channel: 'sms',
      messageId: 'm1',
      occurredAt: new Date(created).toISOString(),
      acceptedAt: created,
    };
    const raw = eventToRedis(e);
    expect(raw).not.toContain('t1');
    expect(raw).not.toContain('evt_1');
    expect(raw).not.toContain('message.delivered');
    expect(eventFromRedis(raw, { tenantId: 't1', id: 'evt_1' })).toEqual(e);
    for (const occurredAt of ['2026-02-01T00:00:00.000Z', '2026-02-01T00:00:00+01:00'])
      expect(eventFromRedis(eventToRedis({ ...e, occurredAt }), e)).toEqual({ ...e, occurredAt });
    const full = {
      ...e,
      type: 'message.failed',
      sender: 's',
      recipient: 'r',
      subProduct: 'transactional',
      error: { code: 7, title: 'x' },
      data: { a: 1, t: [1] },
      deliveryReport: { webhookUrl: 'https://x.test/' },
    } as HooklineEvent;
    expect(eventFromRedis(eventToRedis(full), e)).toEqual(full);
    const odd = { ...e, type: 'message.future' } as unknown as HooklineEvent;
    expect(eventFromRedis(eventToRedis(odd), e)).toEqual(odd);
    // An event stored whole (before 0.5) is read as it is.
    expect(eventFromRedis(JSON.stringify(e), { tenantId: 't1', id: 'evt_1' })).toEqual(e);
    // The object form (one-letter fields) written before the array form is still read.
    const objectForm = JSON.stringify({ t: 1, c: 'sms', m: 'm1', a: created, o: created - 5 });
    expect(eventFromRedis(objectForm, { tenantId: 't1', id: 'evt_1' })).toEqual({
      ...e,
      occurredAt: new Date(created - 5).toISOString(),
    });
    expect(eventFromRedis('{"t":1,"occurredAt":"2026-02-01T00:00:00+01:00","a":5}', e)).toEqual({
      id: 'evt_1',
      tenantId: 't1',
      type: 'message.delivered',
      occurredAt: '2026-02-01T00:00:00+01:00',
      acceptedAt: 5,
    });
  });

  it('stores an event by position: no field names, absent fields as 0, trailing ones left out', () => {
    const e = {
      id: 'evt_1',
      tenantId: 't1',
      type: 'message.delivered',
      channel: 'sms',
      messageId: 'sms-01',
      recipient: '9647700000000',
      occurredAt: new Date(created - 250).toISOString(),
      acceptedAt: created,
    } as HooklineEvent;
    expect(eventToRedis(e)).toBe(`[1,${created},-250,"sms","sms-01","9647700000000"]`);
    const sparse = { ...e, channel: undefined, recipient: undefined, data: { k: 1 } } as HooklineEvent;
    expect(eventToRedis(sparse)).toBe(`[1,${created},-250,0,"sms-01",0,0,0,0,{"k":1}]`);
    const { channel: _c, recipient: _r, ...expected } = sparse;
    expect(eventFromRedis(eventToRedis(sparse), e)).toEqual(expected);
    const same = { ...e, occurredAt: new Date(created).toISOString() };
    expect(eventToRedis(same).startsWith(`[1,${created},0,`)).toBe(true);
  });

  // The stored tables are their own lists (a code, once written, never changes meaning): every
  // type and field the domain knows must have been appended to them, or it is stored by name.
  it('stores every event type as its number and every event field by position', () => {
    const e: HooklineEvent = {
      id: 'evt_1',
      tenantId: 't1',
      type: 'message.sent',
      occurredAt: new Date(created).toISOString(),
      acceptedAt: created,
    };
    for (const type of [...EVENT_TYPES, ...OPERATIONAL_EVENT_TYPES]) {
      const stored = JSON.parse(eventToRedis({ ...e, type })) as unknown[];
      expect(typeof stored[0], type).toBe('number');
      expect(eventFromRedis(JSON.stringify(stored), e).type).toBe(type);
    }
    const fields = Object.keys(EventInputSchema.properties).filter(
      (f) => !['id', 'tenantId', 'type', 'occurredAt'].includes(f),
    );
    expect(fields.length).toBeGreaterThan(0);
    for (const f of fields) {
      const withField = { ...e, [f]: 'v' } as HooklineEvent;
      const raw = eventToRedis(withField);
      expect(raw, f).not.toContain(`"${f}"`);
      expect(eventFromRedis(raw, e)).toEqual(withField);
    }
  });

  it('reads records of both layouts', () => {
    const compact = recordFromRedis(
      'dlv_1',
      {
        E: 'evt_1',
        S: 'sub_1',
        T: 't1',
        C: String(created),
        s: 's',
        U: '125',
        a: `[${roundTripTuple()}]`,
        n: '2',
        R: 'dlv_0',
        d: 'dlv_4',
        b: 'evt_2',
      },
      undefined,
    );
    expect(compact).toEqual({
      id: 'dlv_1',
      eventId: 'evt_1',
      subscriptionId: 'sub_1',
      tenantId: 't1',
      target: 'subscription',
      status: 'succeeded',
      createdAt: '2026-03-01T10:00:00.000Z',
      updatedAt: '2026-03-01T10:00:00.125Z',
      nextAttemptAt: null,
      attempts: [ok],
      series: 2,
      retryOf: 'dlv_0',
      redrivenTo: 'dlv_4',
      supersededBy: 'evt_2',
    });
    const legacy = recordFromRedis(
      'dlv_2',
      {
        eventId: 'evt_1',
        subscriptionId: 'sub_1',
        tenantId: 't1',
        createdAt: '2026-03-01T10:00:00.000Z',
        status: 'retrying',
        updatedAt: '2026-03-01T10:00:01.000Z',
        nextAttemptAt: '2026-03-01T10:05:00.000Z',
        series: '3',
        retryOf: 'dlv_0',
        redrivenTo: 'dlv_4',
        supersededBy: 'evt_2',
      },
      [JSON.stringify(ok)],
    );
    expect(legacy).toMatchObject({
      status: 'retrying',
      attempts: [ok],
      nextAttemptAt: '2026-03-01T10:05:00.000Z',
      series: 3,
      retryOf: 'dlv_0',
      redrivenTo: 'dlv_4',
      supersededBy: 'evt_2',
    });
    const bare = recordFromRedis('dlv_5', { E: 'evt_1', S: 'sub_1', T: 't1', C: String(created) }, undefined);
    for (const link of ['series', 'retryOf', 'redrivenTo', 'supersededBy'])
      expect(bare).not.toHaveProperty(link);
    expect(recordFromRedis('dlv_3', {}, undefined)).toBeUndefined();
  });
});

function roundTripTuple(): string {
  const { startedMs, tuple } = attemptToRedis(ok);
  return `[${startedMs! - created}${tuple.slice(2)}`;
}
