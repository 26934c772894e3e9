// The formats' small parts, edge by edge: value readers, flattening, phone splitting, XML names
// and escaping, the encoder's choices, and each builder's fallbacks where the golden files
// (formats.test.ts) show only the common case.
import { describe, expect, it } from 'vitest';
import type { HooklineEvent } from '../../src/domain/event.js';
import { CONTENT_TYPES, encode } from '../../src/delivery/formats/encode.js';
import { flatten } from '../../src/delivery/formats/flatten.js';
import { encodePayload, type FormatSubscription } from '../../src/delivery/formats/index.js';
import { metaPayload } from '../../src/delivery/formats/meta.js';
import { otpiqPayload } from '../../src/delivery/formats/otpiq.js';
import { otplessPayload } from '../../src/delivery/formats/otpless.js';
import { paramsPayload } from '../../src/delivery/formats/params.js';
import { splitPhone } from '../../src/delivery/formats/phone.js';
import { epochMs, epochSecondsString, recordOf, stringOf, upper } from '../../src/delivery/formats/values.js';
import { escapeXmlText, toXml, xmlName } from '../../src/delivery/formats/xml.js';
import { formatEvents } from '../fixtures/formats/events.js';

const json: FormatSubscription = { format: 'native', method: 'POST', encoding: 'json' };

describe('value readers', () => {
  it('epoch milliseconds and seconds (floored, as a string)', () => {
    expect(epochMs('2024-12-19T13:43:49.999Z')).toBe(1734615829999);
    expect(epochSecondsString('2024-12-19T13:43:49.999Z')).toBe('1734615829');
    expect(epochSecondsString('1970-01-01T00:00:00.000Z')).toBe('0');
  });

  it('stringOf keeps strings and finite numbers', () => {
    expect(stringOf('x')).toBe('x');
    expect(stringOf('')).toBe('');
    expect(stringOf(0)).toBe('0');
    expect(stringOf(-1.5)).toBe('-1.5');
    for (const v of [Number.NaN, Infinity, -Infinity, true, null, undefined, {}, ['x']]) {
      expect(stringOf(v), String(v)).toBeUndefined();
    }
  });

  it('recordOf keeps plain objects only', () => {
    const o = { a: 1 };
    expect(recordOf(o)).toBe(o);
    for (const v of [null, undefined, [], 'x', 1]) expect(recordOf(v)).toBeUndefined();
  });

  it('upper upper-cases strings and numbers', () => {
    expect(upper('whatsapp')).toBe('WHATSAPP');
    expect(upper(7)).toBe('7');
    expect(upper(undefined)).toBeUndefined();
    expect(upper({})).toBeUndefined();
  });
});

describe('flatten', () => {
  it('indexes a top-level array from 0 and writes scalars at the root', () => {
    expect(flatten([1, 'a'])).toEqual([
      ['0', '1'],
      ['1', 'a'],
    ]);
    expect(flatten(null)).toEqual([['', '']]);
    expect(flatten(5)).toEqual([['', '5']]);
    expect(flatten(undefined)).toEqual([]);
    expect(flatten({ a: [[false]] })).toEqual([['a.0.0', 'false']]);
  });

  it('prefixes every path with the given prefix and appends to the given list', () => {
    const out: [string, string][] = [['x', 'y']];
    expect(flatten({ a: 1, b: [2] }, 'p', out)).toBe(out);
    expect(out).toEqual([
      ['x', 'y'],
      ['p.a', '1'],
      ['p.b.0', '2'],
    ]);
  });
});

describe('splitPhone', () => {
  it.each([
    ['1234567', '+1', '234567'],
    ['123456789012345', '+1', '23456789012345'],
    ['+201001234567', '+20', '1001234567'],
    ['+8613800138000', '+86', '13800138000'],
    ['+9718001234', '+971', '8001234'],
    ['+3531234567', '+353', '1234567'],
  ])('%s → %s %s', (raw, countryCode, phoneNumber) => {
    expect(splitPhone(raw)).toEqual({ countryCode, phoneNumber });
  });

  it.each([
    '123456',
    '1234567890123456',
    '+123456',
    '01234567890',
    '+01234567890',
    '1234567x',
    'x1234567',
    '++1234567',
    '',
  ])('leaves %j whole', (raw) => {
    expect(splitPhone(raw)).toEqual({ phoneNumber: raw });
  });
});

describe('xmlName', () => {
  it.each([
    ['_x', '_x'],
    ['a.b-c_d9', 'a.b-c_d9'],
    ['a ', 'a_'],
    ['a#', 'a_'],
    ['a:b:c', 'a_b_c'],
    ['a b c', 'a_b_c'],
    ['9', '_9'],
    ['·x', '_·x'],
    ['x·\u0301\u203F', 'x·\u0301\u203F'],
    ['ключ', 'ключ'],
    ['中文', '中文'],
    ['𐀀', '𐀀'],
    ['×÷', '__'],
    ['a\u2000b', 'a_b'],
  ])('%j → %j', (key, name) => {
    expect(xmlName(key)).toBe(name);
  });
});

describe('escapeXmlText', () => {
  it('writes markup as entities and \\r as a character reference', () => {
    expect(escapeXmlText(`a&b<c>d"e'f\rg\nh\ti`)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f&#13;g\nh\ti');
  });

  it('keeps every character XML 1.0 allows, astral ones too', () => {
    const ok = ' ~\u00A0\uD7FF\uE000\uFFFD😀\u{10FFFF}';
    expect(escapeXmlText(ok)).toBe(ok);
  });

  it('replaces the characters XML 1.0 cannot carry, every one of them', () => {
    expect(escapeXmlText('\u0000\u0008\u000B\u000C\u001F\uFFFE\uFFFF\uDC00x\uD800')).toBe(
      '\uFFFD'.repeat(8) + 'x\uFFFD',
    );
  });
});

describe('toXml', () => {
  it('writes nested objects, repeated elements, empty elements and a custom root', () => {
    expect(toXml({ a: { b: 1, c: [true, null] }, 'x y': 'v' }, 'r')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><r><a><b>1</b><c>true</c><c/></a><x_y>v</x_y></r>',
    );
    expect(toXml({})).toBe('<?xml version="1.0" encoding="UTF-8"?><webhook></webhook>');
  });
});

describe('encode', () => {
  const payload = { a: { b: 'x y' }, n: 1 };

  it('GET: the flattened query string, signed as it is, and no body', () => {
    expect(encode(payload, { method: 'GET', encoding: 'xml' })).toStrictEqual({
      query: 'a.b=x+y&n=1',
      signedContent: 'a.b=x+y&n=1',
    });
  });

  it('POST: json, form or xml with its content type; json for anything else', () => {
    expect(CONTENT_TYPES).toStrictEqual({
      json: 'application/json',
      form: 'application/x-www-form-urlencoded',
      xml: 'application/xml',
    });
    expect(encode(payload, { method: 'POST', encoding: 'json' })).toStrictEqual({
      body: '{"a":{"b":"x y"},"n":1}',
      contentType: 'application/json',
      signedContent: '{"a":{"b":"x y"},"n":1}',
    });
    expect(encode(payload, { method: 'POST', encoding: 'form' })).toStrictEqual({
      body: 'a.b=x+y&n=1',
      contentType: 'application/x-www-form-urlencoded',
      signedContent: 'a.b=x+y&n=1',
    });
    const xml = encode(payload, { method: 'POST', encoding: 'xml' });
    expect(xml.contentType).toBe('application/xml');
    expect(xml.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><webhook><a><b>x y</b></a><n>1</n></webhook>',
    );
    expect(encode(payload, { method: 'POST', encoding: 'yaml' as never })).toStrictEqual({
      body: '{"a":{"b":"x y"},"n":1}',
      contentType: 'application/json',
      signedContent: '{"a":{"b":"x y"},"n":1}',
    });
  });

  it('an unknown format falls back to native', () => {
    const event = formatEvents['message.delivered'];
    expect(encodePayload(event, { ...json, format: 'soap' as never })).toStrictEqual(
      encodePayload(event, json),
    );
  });
});

const failed = formatEvents['message.failed'];
const delivered = formatEvents['message.delivered'];

describe('meta', () => {
  const status = (e: HooklineEvent) =>
    (
      metaPayload(e) as {
        entry: [{ changes: [{ value: { statuses: [Record<string, unknown>] } }] }];
      }
    ).entry[0].changes[0].value.statuses[0];
  const metaError = (error: HooklineEvent['error']) =>
    (status({ ...failed, error }).errors as [Record<string, unknown>])[0];

  it('writes an error code as an integer only when it is one', () => {
    expect(metaError({ code: '131048' }).code).toBe(131048);
    expect(metaError({ code: '0' }).code).toBe(0);
    expect(metaError({ code: '-5' }).code).toBe(-5);
    expect(metaError({ code: '999999999999999' }).code).toBe(999999999999999);
    expect(metaError({ code: 42 }).code).toBe(42);
    for (const code of ['033', '1e3', '1.5', '12a', 'a12', '-', '', '9999999999999999', '--1']) {
      expect(metaError({ code }).code, code).toBe(code);
    }
  });

  it('titles an error with its title, else its reason; details only with both', () => {
    expect(metaError({ code: 1, title: 'T', reason: 'R' })).toEqual({
      code: 1,
      title: 'T',
      error_data: { details: 'R' },
      href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
    });
    expect(metaError({ code: 1, reason: 'R' })).toMatchObject({ title: 'R', error_data: undefined });
    expect(metaError({ code: 1, title: 'T' })).toMatchObject({ title: 'T', error_data: undefined });
    expect(metaError({ code: 1, href: 'https://docs.example/1' }).href).toBe('https://docs.example/1');
  });

  it('a status without an error has no errors', () => {
    expect(status(delivered).errors).toBeUndefined();
    expect(status(delivered)).toMatchObject({ status: 'delivered', recipient_id: delivered.recipient });
  });

  it('sends auth events in the native shape', () => {
    const auth = formatEvents['auth.success'];
    expect(encodePayload(auth, { ...json, format: 'meta' })).toStrictEqual(encodePayload(auth, json));
  });

  const reply = (data: Record<string, unknown>) =>
    (
      metaPayload({ ...formatEvents['message.reply-text'], data }) as {
        entry: [{ changes: [{ value: { messages: [Record<string, unknown>] } }] }];
      }
    ).entry[0].changes[0].value.messages[0];

  it('a button reply carries its payload and text, and context when it answers a message', () => {
    expect(reply({ button: { payload: 'P', text: 'T' }, inReplyTo: 'wamid.1' })).toMatchObject({
      context: { from: '15551234567', id: 'wamid.1' },
      type: 'button',
      button: { payload: 'P', text: 'T' },
    });
    expect(reply({ button: {} })).toMatchObject({ type: 'button', button: {}, context: undefined });
  });

  it('media replies: the media object, text as caption unless one is given, animated only if boolean', () => {
    expect(reply({ text: 'hi', media: { type: 'audio', id: '9', animated: 'yes' } })).toEqual({
      from: '393336188770',
      id: 'msg_in_reply_text',
      timestamp: '1678889298',
      type: 'audio',
      audio: {
        id: '9',
        caption: 'hi',
        filename: undefined,
        mime_type: undefined,
        sha256: undefined,
        url: undefined,
        animated: undefined,
      },
      context: undefined,
    });
    expect(reply({ text: 'hi', media: { type: 'image', caption: 'own' } }).image).toMatchObject({
      caption: 'own',
    });
    expect(reply({ media: { type: 'sticker', animated: false } }).sticker).toMatchObject({ animated: false });
    expect(reply({ media: { type: 7 } }).type).toBe('unsupported');
    expect(reply({ media: 'image' }).type).toBe('unsupported');
  });

  it('a text reply', () => {
    expect(reply({ text: 'hello' })).toMatchObject({ type: 'text', text: { body: 'hello' } });
  });
});

describe('otpless', () => {
  const dlr = (e: HooklineEvent) => (otplessPayload(e) as { data: Record<string, unknown> }).data;

  it('a failed DLR names the code as a string and the title, else the reason', () => {
    expect(dlr({ ...failed, error: { code: 7, title: 'T', reason: 'R' } })).toMatchObject({
      status: 'FAILED',
      errorCode: '7',
      errorMessage: 'T',
    });
    expect(dlr({ ...failed, error: { code: '033', reason: 'R' } })).toMatchObject({
      errorCode: '033',
      errorMessage: 'R',
    });
    expect(dlr(delivered)).toMatchObject({ status: 'DELIVERED', channel: 'WHATSAPP', errorCode: undefined });
  });

  const details = (e: Partial<HooklineEvent>) =>
    (
      otplessPayload({ ...formatEvents['auth.success'], ...e }) as {
        data: { authenticationDetails: unknown };
      }
    ).data.authenticationDetails;

  it('auth details: an address with @ is an email whatever the channel, a number is split', () => {
    expect(details({ channel: 'sms', recipient: 'a@b.example' })).toEqual({
      phone: {},
      email: { channel: ['SMS'], email: 'a@b.example' },
    });
    expect(details({ channel: 'email', recipient: 'ana' })).toEqual({
      phone: {},
      email: { channel: ['EMAIL'], email: 'ana' },
    });
    expect(details({ channel: undefined, recipient: 'a@b.example' })).toEqual({
      phone: {},
      email: { channel: ['EMAIL'], email: 'a@b.example' },
    });
    expect(details({ channel: 'sms', recipient: '+447700900123' })).toEqual({
      phone: { channel: ['SMS'], phoneNumber: '7700900123', countryCode: '+44' },
      email: {},
    });
    expect(details({ channel: undefined, recipient: undefined })).toEqual({
      phone: { channel: undefined, phoneNumber: undefined, countryCode: undefined },
      email: {},
    });
  });

  it('fallback channels in capitals; approval to the recipient', () => {
    expect(
      otplessPayload({
        ...formatEvents['auth.fallback'],
        data: { fromChannel: 'whatsapp', toChannel: 'sms' },
      }),
    ).toMatchObject({
      data: { status: 'FALLBACK', fromChannel: 'WHATSAPP', toChannel: 'SMS' },
      eventType: 'AUTH',
    });
    expect(otplessPayload({ ...formatEvents['auth.fallback'], data: undefined })).toMatchObject({
      data: { fromChannel: undefined, toChannel: undefined },
    });
    expect(otplessPayload(formatEvents['auth.approval'])).toMatchObject({
      mobile: { number: formatEvents['auth.approval'].recipient },
      notificationType: 'APPROVAL_ACTION',
    });
  });
});

describe('otpiq', () => {
  const sub: FormatSubscription = { ...json, format: 'otpiq' };

  it('reason of a failure: the reason, else the title, else the code', () => {
    expect(otpiqPayload({ ...failed, error: { code: 5, title: 'T', reason: 'R' } }, sub).reason).toBe('R');
    expect(otpiqPayload({ ...failed, error: { code: 5, title: 'T' } }, sub).reason).toBe('T');
    expect(otpiqPayload({ ...failed, error: { code: 5 } }, sub).reason).toBe('5');
    expect(otpiqPayload({ ...failed, error: undefined }, sub).reason).toBeUndefined();
    expect(otpiqPayload({ ...delivered, error: { code: 5 } }, sub).reason).toBeUndefined();
  });

  it('only delivered and failed are final', () => {
    expect(otpiqPayload(delivered, sub).isFinal).toBe(true);
    expect(otpiqPayload(formatEvents['message.read'], sub)).toMatchObject({ status: 'read', isFinal: false });
  });
});

describe('params', () => {
  const sub: FormatSubscription = { ...json, format: 'params' };

  it('puts occurredAt under the time field of the event type', () => {
    const at = (e: HooklineEvent) => {
      const p = paramsPayload(e, sub);
      return ['receivedTime', 'deliveredTime', 'readTime'].filter((k) => k in p);
    };
    expect(at(delivered)).toEqual(['deliveredTime']);
    expect(at(formatEvents['message.read'])).toEqual(['readTime']);
    expect(at(formatEvents['message.sent'])).toEqual(['receivedTime']);
    expect(at(formatEvents['message.reply-text'])).toEqual(['receivedTime']);
  });

  it('data never overrides named fields or customParams; customParams never override named fields', () => {
    const p = paramsPayload(
      { ...delivered, data: { status: 'x', extra: 'd', mine: 'data' } },
      { ...sub, customParams: { mine: 'custom', messageId: 'custom' }, fieldNames: { status: 'state' } },
    );
    expect(p).toMatchObject({
      state: 'delivered',
      extra: 'd',
      mine: 'custom',
      messageId: delivered.messageId,
    });
    // A data key equal to a renamed field's default name is free to use.
    expect(p.status).toBe('x');
  });

  it('omits absent values', () => {
    const p = paramsPayload({ ...formatEvents['auth.success'], recipient: undefined, error: undefined }, sub);
    expect(Object.keys(p)).toEqual(['transactionId', 'messageId', 'receivedTime', 'channel', 'eventType']);
  });
});
