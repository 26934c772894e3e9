// Message events (SPEC §2): the schema's limits, the rules beyond it, error paths and messages,
// and normalisation (id, occurredAt, acceptedAt). Pure, no I/O.
import { describe, expect, it } from 'vitest';
import {
  CHANNELS,
  EVENT_TYPES,
  EventInputSchema,
  eventRuleErrors,
  isFinal,
  isOperational,
  normalizeEvent,
  occurredAtMs,
  openReportSecret,
  parseEvent,
  sealReportSecret,
  schemaErrors,
  statusOf,
  SUB_PRODUCTS,
  type EventInput,
} from '../../src/domain/event.js';
import { HooklineError } from '../../src/domain/errors.js';
import { createSecretBox, isUnreadable, secretContext } from '../../src/crypto.js';

const NOW = Date.parse('2025-03-01T12:00:00.000Z');
const ok: EventInput = { tenantId: 'tnt_a', type: 'message.delivered', channel: 'sms', messageId: 'msg_1' };
const auth: EventInput = { tenantId: 'tnt_a', type: 'auth.success' };
const x = (n: number) => 'x'.repeat(n);

/** The first error for `input` (schema, then rules), as `path: message`. */
function problem(input: unknown): string | undefined {
  try {
    parseEvent(input, '', NOW);
    return undefined;
  } catch (err) {
    const e = err as HooklineError;
    return e.errors!.map((f) => `${f.path}: ${f.message}`).join('; ');
  }
}

// [the errors, the input]: one field at a time, each limit just past its edge.
const REFUSED_INPUTS: [unknown, string][] = [
  [{ ...auth, id: '' }, '/id: must not have fewer than 1 characters'],
  [{ ...auth, id: x(129) }, '/id: must not have more than 128 characters'],
  [{ ...auth, id: 'a b' }, '/id: must match pattern "^[A-Za-z0-9_.:\\-]+$"'],
  [{ ...auth, id: 'a/b' }, '/id: must match pattern "^[A-Za-z0-9_.:\\-]+$"'],
  [{ ...auth, tenantId: '' }, '/tenantId: must not have fewer than 1 characters'],
  [{ ...auth, tenantId: x(129) }, '/tenantId: must not have more than 128 characters'],
  [{ ...auth, type: 'message.unknown' }, '/type: must be equal to one of the allowed values'],
  [{ ...auth, channel: 'fax' }, '/channel: must be equal to one of the allowed values'],
  [{ ...auth, subProduct: 'marketing' }, '/subProduct: must be equal to one of the allowed values'],
  [{ ...auth, messageId: '' }, '/messageId: must not have fewer than 1 characters'],
  [{ ...auth, messageId: x(257) }, '/messageId: must not have more than 256 characters'],
  [{ ...auth, sender: x(257) }, '/sender: must not have more than 256 characters'],
  [{ ...auth, recipient: x(257) }, '/recipient: must not have more than 256 characters'],
  [{ ...auth, occurredAt: '' }, '/occurredAt: must not have fewer than 1 characters'],
  [{ ...auth, occurredAt: x(65) }, '/occurredAt: must not have more than 64 characters'],
  [{ ...auth, occurredAt: -1 }, '/occurredAt: must be string'],
  [{ ...auth, occurredAt: 1.5 }, '/occurredAt: must be string'],
  [{ ...auth, error: { code: '' } }, '/error/code: must not have fewer than 1 characters'],
  [{ ...auth, error: { code: x(65) } }, '/error/code: must not have more than 64 characters'],
  [{ ...auth, error: { code: 1, title: x(513) } }, '/error/title: must not have more than 512 characters'],
  [
    { ...auth, error: { code: 1, reason: x(2049) } },
    '/error/reason: must not have more than 2048 characters',
  ],
  [{ ...auth, error: { code: 1, href: x(2049) } }, '/error/href: must not have more than 2048 characters'],
  [{ ...auth, error: { title: 't' } }, '/error/code: is required'],
  [{ ...auth, error: { code: 1, detail: 'd' } }, '/error/detail: is not a known field'],
  [{ ...auth, data: [] }, '/data: must be object'],
  [{ ...auth, deliveryReport: {} }, '/deliveryReport/webhookUrl: is required'],
  [
    { ...auth, deliveryReport: { webhookUrl: '' } },
    '/deliveryReport/webhookUrl: must not have fewer than 1 characters',
  ],
  [
    { ...auth, deliveryReport: { webhookUrl: x(2049) } },
    '/deliveryReport/webhookUrl: must not have more than 2048 characters',
  ],
  [
    { ...auth, deliveryReport: { webhookUrl: 'h', reportType: 'some' } },
    '/deliveryReport/reportType: must be equal to one of the allowed values',
  ],
  [
    { ...auth, deliveryReport: { webhookUrl: 'h', webhookSecret: x(513) } },
    '/deliveryReport/webhookSecret: must not have more than 512 characters',
  ],
  [
    { ...auth, deliveryReport: { webhookUrl: 'h', headers: {} } },
    '/deliveryReport/headers: is not a known field',
  ],
  [{ ...auth, colour: 'blue', size: 1 }, '/colour: is not a known field; /size: is not a known field'],
  [{}, '/tenantId: is required; /type: is required'],
  [[], '/: must be object'],
  [null, '/: must be object'],
];
const REFUSED = REFUSED_INPUTS.map(([input, expected]) => [expected, input] as const);

describe('status types', () => {
  it('names the delivery status of each status event, and none for the others', () => {
    expect(Object.fromEntries(EVENT_TYPES.map((t) => [t, statusOf(t) ?? null]))).toStrictEqual({
      'message.sent': 'sent',
      'message.delivered': 'delivered',
      'message.read': 'read',
      'message.failed': 'failed',
      'message.clicked': 'clicked',
      'message.reply': null,
      'message.template': null,
      'auth.success': null,
      'auth.fallback': null,
      'auth.approval': null,
    });
  });

  it('only delivered and failed are final', () => {
    expect(EVENT_TYPES.filter(isFinal)).toEqual(['message.delivered', 'message.failed']);
  });

  it('only subscription.disabled and delivery.exhausted are operational', () => {
    expect(isOperational('subscription.disabled')).toBe(true);
    expect(isOperational('delivery.exhausted')).toBe(true);
    for (const t of [...EVENT_TYPES, 'subscription.*', 'delivery.*', '*', ''])
      expect(isOperational(t), t).toBe(false);
  });
});

describe('the event schema', () => {
  it('accepts every type, channel and subProduct', () => {
    for (const type of EVENT_TYPES)
      expect(problem({ ...ok, type, error: { code: 1 } }), type).toBeUndefined();
    for (const channel of CHANNELS) expect(problem({ ...ok, channel }), channel).toBeUndefined();
    for (const subProduct of SUB_PRODUCTS) expect(problem({ ...ok, subProduct }), subProduct).toBeUndefined();
  });

  it('accepts a full event at every upper limit', () => {
    const full = {
      id: `A-z_0.9:${x(120)}`,
      tenantId: x(128),
      type: 'message.failed',
      channel: 'whatsapp',
      subProduct: 'conversational',
      messageId: x(256),
      sender: x(256),
      recipient: x(256),
      occurredAt: x(64),
      error: { code: x(64), title: x(512), reason: x(2048), href: x(2048) },
      data: { anything: [1, { nested: true }] },
      deliveryReport: { webhookUrl: x(2048), reportType: 'final', webhookSecret: x(512) },
    };
    expect(schemaErrors(full)).toEqual([]);
    expect(problem({ ...auth, occurredAt: 0, error: { code: 0 } })).toBeUndefined();
    expect(
      problem({ ...auth, deliveryReport: { webhookUrl: 'h', reportType: 'all', webhookSecret: '' } }),
    ).toBe(undefined);
  });

  it.each(REFUSED)('refuses %s', (expected, input) => {
    expect(problem(input)).toBe(expected);
  });

  it('prefixes paths with the base, a whole-item error included', () => {
    expect(schemaErrors({ ...auth, colour: 'blue' }, '/3')).toEqual([
      { path: '/3/colour', message: 'is not a known field' },
    ]);
    expect(schemaErrors({ type: 'auth.success' }, '/3')).toEqual([
      { path: '/3/tenantId', message: 'is required' },
    ]);
    expect(schemaErrors('event', '/3')).toEqual([{ path: '/3', message: 'must be object' }]);
    expect(schemaErrors(ok, '/3')).toEqual([]);
  });

  it('names each field once', () => {
    expect(schemaErrors({ ...auth, occurredAt: true })).toEqual([
      { path: '/occurredAt', message: 'must be string' },
    ]);
  });

  it('is published as EventInput, its enums as strings', () => {
    expect(EventInputSchema).toHaveProperty('$id', 'EventInput');
    const p = EventInputSchema.properties;
    expect([p.type, p.channel, p.subProduct, p.deliveryReport.properties.reportType]).toEqual(
      Array(4).fill(expect.objectContaining({ type: 'string' })),
    );
  });
});

describe('the rules beyond the schema', () => {
  it('message events need a channel and a messageId', () => {
    expect(eventRuleErrors({ tenantId: 't', type: 'message.sent' }, '/0')).toEqual([
      { path: '/0/channel', message: 'is required for message.sent' },
      { path: '/0/messageId', message: 'is required for message.sent' },
    ]);
    expect(eventRuleErrors({ tenantId: 't', type: 'message.reply', channel: 'sms' })).toEqual([
      { path: '/messageId', message: 'is required for message.reply' },
    ]);
    expect(eventRuleErrors({ tenantId: 't', type: 'message.read', messageId: 'm' })).toEqual([
      { path: '/channel', message: 'is required for message.read' },
    ]);
    expect(eventRuleErrors(auth)).toEqual([]);
  });

  it('message.failed needs an error', () => {
    expect(eventRuleErrors({ ...ok, type: 'message.failed' })).toEqual([
      { path: '/error', message: 'is required for message.failed' },
    ]);
    expect(eventRuleErrors({ ...ok, type: 'message.failed', error: { code: 'x' } })).toEqual([]);
  });

  it('a string occurredAt must parse as a date', () => {
    expect(eventRuleErrors({ ...auth, occurredAt: 'yesterday' })).toEqual([
      { path: '/occurredAt', message: 'must be an RFC 3339 date-time or epoch milliseconds' },
    ]);
    expect(eventRuleErrors({ ...auth, occurredAt: '2025-03-01T12:00:00Z' })).toEqual([]);
    expect(eventRuleErrors({ ...auth, occurredAt: 5 })).toEqual([]);
  });

  it('a deliveryReport secret must be a valid header value (it is sent as one)', () => {
    const report = (webhookSecret: string) => ({
      ...auth,
      deliveryReport: { webhookUrl: 'https://r', webhookSecret },
    });
    expect(eventRuleErrors(report('a\r\nX-Injected: 1'), '/2')).toEqual([
      {
        path: '/2/deliveryReport/webhookSecret',
        message:
          'must be visible ASCII, spaces or tabs (no CR, LF, NUL or other control characters), at most 8192 characters',
      },
    ]);
    expect(eventRuleErrors(report('s3cret value'))).toEqual([]);
    expect(eventRuleErrors(report(''))).toEqual([]);
    expect(eventRuleErrors({ ...auth, deliveryReport: { webhookUrl: 'https://r' } })).toEqual([]);
  });

  it('parseEvent runs the rules only on schema-valid input', () => {
    // A schema error alone: the missing channel is not reported on top of it.
    expect(problem({ tenantId: 't', type: 'message.sent', messageId: 'm', sender: x(300) })).toBe(
      '/sender: must not have more than 256 characters',
    );
    expect(problem({ tenantId: 't', type: 'message.sent', messageId: 'm' })).toBe(
      '/channel: is required for message.sent',
    );
  });

  it('parseEvent paths start at the root by default (the publisher)', () => {
    expect(() => parseEvent({ type: 'auth.success' })).toThrow(/^\/tenantId: is required$/);
    expect(parseEvent(auth).tenantId).toBe('tnt_a');
  });

  it('parseEvent throws a validation_error with the base in every path', () => {
    let thrown: unknown;
    try {
      parseEvent({ tenantId: 't', type: 'message.sent' }, '/7', NOW);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(HooklineError);
    expect((thrown as HooklineError).code).toBe('validation_error');
    expect((thrown as HooklineError).errors!.map((e) => e.path)).toEqual(['/7/channel', '/7/messageId']);
  });
});

describe('normalisation', () => {
  it('assigns an evt_ id, defaults occurredAt to now and records acceptedAt', () => {
    const e = parseEvent(auth, '', NOW);
    expect(e.id).toMatch(/^evt_[A-Za-z0-9_-]{16}$/);
    expect(e.occurredAt).toBe('2025-03-01T12:00:00.000Z');
    expect(e.acceptedAt).toBe(NOW);
    expect(e.tenantId).toBe('tnt_a');
    expect(parseEvent(auth, '', NOW).id).not.toBe(e.id);
  });

  it('keeps a given id and normalises occurredAt to RFC 3339 UTC', () => {
    expect(
      normalizeEvent({ ...auth, id: 'mine', occurredAt: '2025-03-01T14:00:00+02:00' }, NOW),
    ).toStrictEqual({
      ...auth,
      id: 'mine',
      occurredAt: '2025-03-01T12:00:00.000Z',
      acceptedAt: NOW,
    });
    expect(normalizeEvent({ ...auth, occurredAt: 0 }, NOW).occurredAt).toBe('1970-01-01T00:00:00.000Z');
    expect(normalizeEvent({ ...auth, occurredAt: NOW - 1000 }, NOW).occurredAt).toBe(
      '2025-03-01T11:59:59.000Z',
    );
  });

  it('defaults to the current time without a given one', () => {
    const before = Date.now();
    const e = normalizeEvent(auth);
    expect(e.acceptedAt).toBeGreaterThanOrEqual(before);
    expect(Date.parse(e.occurredAt)).toBe(e.acceptedAt);
  });

  it('does not change its input', () => {
    const input = { ...auth, occurredAt: 0 };
    normalizeEvent(input, NOW);
    expect(input).toStrictEqual({ ...auth, occurredAt: 0 });
  });
});

describe('occurredAtMs', () => {
  it('takes epoch milliseconds as a number or as a string of up to 16 digits', () => {
    expect(occurredAtMs(0)).toBe(0);
    expect(occurredAtMs(5)).toBe(5);
    expect(occurredAtMs(17000)).toBe(17000);
    expect(occurredAtMs('5')).toBe(5);
    expect(occurredAtMs('17000')).toBe(17000);
    expect(occurredAtMs('1700000000000')).toBe(1_700_000_000_000);
    expect(occurredAtMs('0001700000000000')).toBe(1_700_000_000_000);
  });

  it('reads any number as epoch milliseconds, never as a date string', () => {
    // As strings, "-1" and "1.5" would parse as dates in 2001.
    expect(occurredAtMs(-1)).toBe(-1);
    expect(occurredAtMs(1.5)).toBe(1.5);
    expect(occurredAtMs(-8.64e15)).toBe(-8.64e15);
  });

  it('parses any other string as a date', () => {
    expect(occurredAtMs('2025-03-01T14:00:00+02:00')).toBe(NOW);
    // Ends in digits but is not all digits: a date, not a number.
    expect(occurredAtMs('2025-03-01T12:00:00.123Z')).toBe(NOW + 123);
    expect(occurredAtMs('12345678901234567')).toBeUndefined();
    expect(occurredAtMs('yesterday')).toBeUndefined();
    expect(occurredAtMs('1e3')).toBeUndefined();
  });

  it('refuses times a Date cannot hold (beyond ±8.64e15 ms)', () => {
    expect(occurredAtMs(8.64e15)).toBe(8.64e15);
    expect(occurredAtMs('8640000000000000')).toBe(8.64e15);
    expect(occurredAtMs(8.64e15 + 1)).toBeUndefined();
    expect(occurredAtMs('9000000000000000')).toBeUndefined();
    expect(occurredAtMs(-8.64e15 - 1)).toBeUndefined();
    expect(occurredAtMs(Number.NaN)).toBeUndefined();
  });
});

describe('the deliveryReport secret at rest', () => {
  const box = createSecretBox(Buffer.alloc(32, 7).toString('base64'));
  const event = parseEvent(
    {
      ...auth,
      id: 'evt_1',
      deliveryReport: { webhookUrl: 'https://r', reportType: 'final', webhookSecret: 'pssst' },
    },
    '',
    NOW,
  );
  const context = secretContext('event', 'tnt_a', 'evt_1', 'deliveryReport.webhookSecret');

  it('is encrypted for its tenant, event and field, the rest of the event unchanged', () => {
    const sealed = sealReportSecret(event, box);
    expect(sealed.deliveryReport!.webhookSecret).not.toBe('pssst');
    expect(box.decrypt(sealed.deliveryReport!.webhookSecret!, context)).toBe('pssst');
    expect({ ...sealed, deliveryReport: { ...sealed.deliveryReport, webhookSecret: 'x' } }).toStrictEqual({
      ...event,
      deliveryReport: { ...event.deliveryReport, webhookSecret: 'x' },
    });
    expect(event.deliveryReport!.webhookSecret).toBe('pssst');
  });

  it('leaves an event without a secret as it is', () => {
    const plain = parseEvent(auth, '', NOW);
    expect(sealReportSecret(plain, box)).toBe(plain);
    const noSecret = { ...event, deliveryReport: { webhookUrl: 'https://r' } };
    expect(sealReportSecret(noSecret, box)).toBe(noSecret);
    expect(openReportSecret(plain, box)).toBeUndefined();
    expect(openReportSecret(noSecret, box)).toBeUndefined();
  });

  it('opens a secret sealed for the same event only', () => {
    const sealed = sealReportSecret(event, box);
    expect(openReportSecret(sealed, box)).toBe('pssst');
    const stored = {
      ...event,
      deliveryReport: { webhookUrl: 'https://r', webhookSecret: box.encrypt('direct', context) },
    };
    expect(openReportSecret(stored, box)).toBe('direct');
    expect(isUnreadable(openReportSecret({ ...sealed, id: 'evt_2' }, box)!)).toBe(true);
    expect(isUnreadable(openReportSecret({ ...sealed, tenantId: 'tnt_b' }, box)!)).toBe(true);
  });
});
