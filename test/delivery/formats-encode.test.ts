// Encoders: exact bytes for GET / form / JSON / XML, round trips, escaping, and format details.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { HooklineEvent } from '../../src/domain/event.js';
import { FORMATS, type Format } from '../../src/domain/subscription.js';
import { encodePayload, type FormatSubscription } from '../../src/delivery/formats/index.js';
import { flatten } from '../../src/delivery/formats/flatten.js';
import { splitPhone } from '../../src/delivery/formats/phone.js';
import { toXml, xmlName } from '../../src/delivery/formats/xml.js';
import { formatEvents } from '../fixtures/formats/events.js';
import { readEncodedFixture, readJsonFixture } from '../fixtures/formats/load.js';

const parser = new XMLParser({
  parseTagValue: false,
  trimValues: false,
  htmlEntities: true,
  ignoreDeclaration: true,
});
const parseXml = (xml: string) => parser.parse(xml) as { webhook: Record<string, unknown> };
const sub = (
  format: Format,
  method: 'GET' | 'POST',
  encoding: 'json' | 'form' | 'xml',
  extra: Partial<FormatSubscription> = {},
) => ({ format, method, encoding, ...extra }) satisfies FormatSubscription;
const queryObject = (q: string) => Object.fromEntries(new URLSearchParams(q));

const NASTY = `<tag a="1">&amp; 'quoted' "double" é ü 中文 😀 \ttab`;
const nastyEvent: HooklineEvent = {
  ...formatEvents['message.reply-text'],
  data: {
    text: NASTY,
    'weird key <&>': 'v',
    media: { type: 'image', caption: NASTY, url: 'https://x.example/a?b=1&c=2' },
  },
};

describe('params encodings', () => {
  const renamed = sub('params', 'GET', 'json', {
    fieldNames: {
      transactionId: 'txnid',
      messageId: 'msgid',
      mobile: 'mobile_no',
      deliveredTime: 'dlr_time',
      status: 'dlr_status',
    },
    customParams: { apikey: `k<&>"' é`, source: 'hookline' },
  });

  it('GET: renamed fields and custom params as the query string, nothing else', () => {
    const out = encodePayload(formatEvents['message.delivered'], renamed);
    expect(out).toEqual({ query: readEncodedFixture('params-delivered-get.txt'), signedContent: out.query });
    expect(queryObject(out.query!)).toEqual({
      txnid: 'evt_delivered',
      msgid: 'msg_7f3a9c',
      mobile_no: '919899038845',
      dlr_time: '2024-12-19T13:43:51.002Z',
      dlr_status: 'delivered',
      channel: 'whatsapp',
      eventType: 'message.delivered',
      apikey: `k<&>"' é`,
      source: 'hookline',
    });
  });

  it('POST form: the same parameters as an urlencoded body, reply text included', () => {
    const out = encodePayload(
      formatEvents['message.reply-text'],
      sub('params', 'POST', 'form', { customParams: { source: 'hookline' } }),
    );
    expect(out.contentType).toBe('application/x-www-form-urlencoded');
    expect(out.body).toBe(readEncodedFixture('params-reply-text-form.txt'));
    expect(out.signedContent).toBe(out.body);
    expect(queryObject(out.body!)).toEqual({
      ...(readJsonFixture('golden/params/message.reply-text.json') as object),
      source: 'hookline',
    });
  });

  const xmlSub = (encoding: 'json' | 'xml') =>
    sub('params', 'POST', encoding, {
      fieldNames: { transactionId: 'txn id', messageId: '1st-id', status: 'dlr:status' },
      customParams: { note: `<&>"' é 😀` },
    });

  it('POST json: flat string values, names as configured', () => {
    const out = encodePayload(formatEvents['message.delivered'], xmlSub('json'));
    expect(out.contentType).toBe('application/json');
    expect(out.body).toBe(readEncodedFixture('params-delivered-json.txt'));
  });

  it('POST xml: escaped text, names made valid XML, parses back to the same values', () => {
    const out = encodePayload(formatEvents['message.delivered'], xmlSub('xml'));
    expect(out.contentType).toBe('application/xml');
    expect(out.body).toBe(readEncodedFixture('params-delivered.xml'));
    expect(XMLValidator.validate(out.body!)).toBe(true);
    const json = JSON.parse(encodePayload(formatEvents['message.delivered'], xmlSub('json')).body!) as Record<
      string,
      string
    >;
    const renamedKeys = Object.fromEntries(Object.entries(json).map(([k, v]) => [xmlName(k), v]));
    expect(parseXml(out.body!).webhook).toEqual(renamedKeys);
  });

  it('round-trips markup characters and non-ASCII in every encoding', () => {
    const expected = {
      text: NASTY,
      'weird key <&>': 'v',
      'media.caption': NASTY,
      'media.url': 'https://x.example/a?b=1&c=2',
    };
    const get = encodePayload(nastyEvent, sub('params', 'GET', 'json'));
    expect(queryObject(get.query!)).toMatchObject(expected);
    expect(get.query).not.toMatch(/[^\x21-\x7e]/); // pure printable ASCII on the wire
    expect(queryObject(encodePayload(nastyEvent, sub('params', 'POST', 'form')).body!)).toMatchObject(
      expected,
    );
    expect(JSON.parse(encodePayload(nastyEvent, sub('params', 'POST', 'json')).body!)).toMatchObject(
      expected,
    );
    const xml = encodePayload(nastyEvent, sub('params', 'POST', 'xml')).body!;
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(parseXml(xml).webhook).toMatchObject({ text: NASTY, weird_key____: 'v', 'media.caption': NASTY });
  });

  it('named fields win over customParams, which win over event data; undefined values are omitted', () => {
    const event: HooklineEvent = {
      ...formatEvents['message.delivered'],
      data: { status: 'spoofed', source: 'data', extra: 'kept' },
    };
    const out = JSON.parse(
      encodePayload(
        event,
        sub('params', 'POST', 'json', {
          fieldNames: { mobile: 'to' },
          customParams: { status: 'custom', source: 'custom' },
        }),
      ).body!,
    ) as Record<string, string>;
    expect(out).toMatchObject({ status: 'delivered', source: 'custom', extra: 'kept', to: '919899038845' });
    expect(out).not.toHaveProperty('mobile');
    expect(out).not.toHaveProperty('errorCode');
    expect(out).not.toHaveProperty('receivedTime');
    expect(out).not.toHaveProperty('readTime');
  });

  it('treats a "__proto__" data key as a plain parameter', () => {
    const event = {
      ...formatEvents['message.sent'],
      data: JSON.parse('{"__proto__": {"polluted": "yes"}}') as Record<string, unknown>,
    };
    const out = encodePayload(event, sub('params', 'GET', 'json'));
    expect(new URLSearchParams(out.query).get('__proto__.polluted')).toBe('yes');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('structured formats over GET, form and XML', () => {
  it('GET flattens to dot paths, signs exactly the query string', () => {
    const out = encodePayload(formatEvents['message.delivered'], sub('otpless', 'GET', 'json'));
    expect(out.body).toBeUndefined();
    expect(out.contentType).toBeUndefined();
    expect(out.query).toBe(readEncodedFixture('otpless-delivered-get.txt'));
    expect(out.signedContent).toBe(out.query);
  });

  it('form flattens the same way as GET', () => {
    const out = encodePayload(formatEvents['message.failed-details'], sub('otpiq', 'POST', 'form'));
    expect(out.body).toBe(readEncodedFixture('otpiq-failed-details-form.txt'));
    expect(queryObject(out.body!)).toEqual(
      Object.fromEntries(
        Object.entries(readJsonFixture('golden/otpiq/message.failed-details.json') as object).map(
          ([k, v]) => [k, String(v)],
        ),
      ),
    );
  });

  it('GET indexes arrays in the path (meta envelope)', () => {
    const q = queryObject(encodePayload(formatEvents['message.failed'], sub('meta', 'GET', 'json')).query!);
    expect(q['entry.0.changes.0.value.statuses.0.errors.0.code']).toBe('131026');
    expect(q['entry.0.changes.0.field']).toBe('messages');
  });

  it('xml: the object under <webhook>, arrays as repeated elements', () => {
    const out = encodePayload(formatEvents['message.failed-details'], sub('meta', 'POST', 'xml'));
    expect(out.body).toBe(readEncodedFixture('meta-failed-details.xml'));
    expect(encodePayload(formatEvents['auth.success'], sub('otpless', 'POST', 'xml')).body).toBe(
      readEncodedFixture('otpless-auth-success.xml'),
    );
  });

  it.each(FORMATS)('%s xml is well-formed and parses back to the JSON payload for every case', (format) => {
    // The XML carries no array markers: tell the parser which repeated elements are lists.
    const arrays = new Set([
      'entry',
      'changes',
      'statuses',
      'errors',
      'messages',
      'contacts',
      'components',
      'parameters',
    ]);
    const isArray = (name: string, path: unknown) =>
      arrays.has(name) || String(path).endsWith('authenticationDetails.phone.channel');
    const p = new XMLParser({
      parseTagValue: false,
      trimValues: false,
      htmlEntities: true,
      ignoreDeclaration: true,
      jPath: true,
      isArray,
    });
    for (const event of [...Object.values(formatEvents), nastyEvent]) {
      const xml = encodePayload(event, sub(format, 'POST', 'xml')).body!;
      expect(XMLValidator.validate(xml)).toBe(true);
      const json = JSON.parse(encodePayload(event, sub(format, 'POST', 'json')).body!) as unknown;
      expect((p.parse(xml) as { webhook: unknown }).webhook).toEqual(asXmlValues(json));
    }
  });
});

/** What an XML round trip keeps: strings for leaves, "" for empty objects, sanitised names. */
function asXmlValues(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(asXmlValues);
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    return entries.length === 0
      ? ''
      : Object.fromEntries(entries.map(([k, x]) => [xmlName(k), asXmlValues(x)]));
  }
  return v === null ? '' : String(v);
}

describe('signing rule for GET', () => {
  it('the signed content is the trailing part of the URL the worker builds', () => {
    for (const base of ['https://hooks.example.com/dlr', 'https://hooks.example.com/dlr?token=abc']) {
      const out = encodePayload(nastyEvent, sub('params', 'GET', 'json', { customParams: { k: 'v w' } }));
      const url = base + (base.includes('?') ? '&' : '?') + out.query;
      const raw = new URL(url).search.slice(1);
      expect(raw.endsWith(out.signedContent)).toBe(true);
      expect(raw === out.signedContent || raw.endsWith(`&${out.signedContent}`)).toBe(true);
    }
  });
});

describe('xml writer', () => {
  it.each([
    ['plain_Name-1.x', 'plain_Name-1.x'],
    ['a b', 'a_b'],
    ['1st', '_1st'],
    ['-x', '_-x'],
    ['.x', '_.x'],
    ['ns:el', 'ns_el'],
    ['', '_'],
    ['é中', 'é中'],
    ['a\u0000b', 'a_b'],
    ['#text', '_text'],
    ['@_attr', '__attr'],
  ])('%j becomes the element name %j', (key, name) => {
    expect(xmlName(key)).toBe(name);
    expect(XMLValidator.validate(`<${xmlName(key)}/>`)).toBe(true);
  });

  it('replaces characters XML 1.0 cannot carry and keeps \\r through parsing', () => {
    const xml = toXml({
      a: 'x\u0001y\uFFFEz\uD800',
      b: 'line\r\nnext',
      c: null,
      d: [],
      e: {},
      f: [[1, 2]],
      g: undefined,
    });
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).toContain('<a>x\uFFFDy\uFFFDz\uFFFD</a>');
    expect(xml).toContain('<c/>');
    expect(xml).not.toContain('<d');
    expect(xml).not.toContain('<g');
    expect(xml).toContain('<f><item>1</item><item>2</item></f>');
    expect(parseXml(xml).webhook.b).toBe('line\r\nnext');
  });
});

describe('flatten', () => {
  it('writes dot paths, indexes arrays, skips undefined and empty containers', () => {
    expect(flatten({ a: { b: [1, { c: true }] }, n: null, u: undefined, e: {}, l: [] })).toEqual([
      ['a.b.0', '1'],
      ['a.b.1.c', 'true'],
      ['n', ''],
    ]);
  });
});

describe('otpiq details', () => {
  const event = formatEvents['message.delivered'];
  const body = (e: HooklineEvent, s: FormatSubscription) =>
    JSON.parse(encodePayload(e, s).body!) as Record<string, unknown>;

  it('echoes the report type of the subscription, else of the event, else "all"', () => {
    expect(body(event, { ...sub('otpiq', 'POST', 'json'), reportType: 'final' }).deliveryReport).toBe(
      'final',
    );
    const withReport: HooklineEvent = {
      ...event,
      deliveryReport: { webhookUrl: 'https://x.example/', reportType: 'final' },
    };
    expect(body(withReport, sub('otpiq', 'POST', 'json')).deliveryReport).toBe('final');
    expect(body(event, sub('otpiq', 'POST', 'json')).deliveryReport).toBe('all');
  });

  it('omits senderId without a sender and reason outside failures', () => {
    const out = body({ ...event, sender: undefined }, sub('otpiq', 'POST', 'json'));
    expect(Object.keys(out)).toEqual(['smsId', 'deliveryReport', 'isFinal', 'channel', 'status']);
  });
});

describe('otpless details', () => {
  it('auth.success over email fills authenticationDetails.email', () => {
    const event: HooklineEvent = {
      ...formatEvents['auth.success'],
      channel: 'email',
      recipient: 'ana@example.com',
    };
    const out = JSON.parse(encodePayload(event, sub('otpless', 'POST', 'json')).body!) as {
      data: { authenticationDetails: unknown };
    };
    expect(out.data.authenticationDetails).toEqual({
      phone: {},
      email: { channel: ['EMAIL'], email: 'ana@example.com' },
    });
  });

  it('approval without a token uses the requestId', () => {
    const event: HooklineEvent = { ...formatEvents['auth.approval'], data: {} };
    const out = JSON.parse(encodePayload(event, sub('otpless', 'POST', 'json')).body!) as { token: string };
    expect(out.token).toBe(event.messageId);
  });

  it.each([
    ['919899038845', '+91', '9899038845'],
    ['+14155550123', '+1', '4155550123'],
    ['79161234567', '+7', '9161234567'],
    ['447700900123', '+44', '7700900123'],
    ['971501234567', '+971', '501234567'],
    ['393336188770', '+39', '3336188770'],
    ['2348031234567', '+234', '8031234567'],
  ])('splits %s into %s %s', (raw, countryCode, phoneNumber) => {
    expect(splitPhone(raw)).toEqual({ countryCode, phoneNumber });
  });

  it('leaves numbers it cannot split whole', () => {
    expect(splitPhone('HOOKLN')).toEqual({ phoneNumber: 'HOOKLN' });
    expect(splitPhone('0123')).toEqual({ phoneNumber: '0123' });
  });
});

describe('meta details', () => {
  const body = (e: HooklineEvent) =>
    JSON.parse(encodePayload(e, sub('meta', 'POST', 'json')).body!) as {
      entry: [{ id: string; changes: [{ value: Record<string, unknown> }] }];
    };
  const value = (e: HooklineEvent) => body(e).entry[0].changes[0].value;

  it('uses provider ids from data when the publisher has them', () => {
    const event: HooklineEvent = {
      ...formatEvents['message.delivered'],
      data: { providerMessageId: 'wamid.HBgL', wabaId: '105710252456442', phoneNumberId: '106540352242922' },
    };
    expect(body(event).entry[0].id).toBe('105710252456442');
    expect(value(event).metadata).toEqual({
      display_phone_number: '15551234567',
      phone_number_id: '106540352242922',
    });
    expect((value(event).statuses as [{ id: string }])[0].id).toBe('wamid.HBgL');
  });

  it('marks replies it cannot represent as unsupported, as Meta does', () => {
    const base = formatEvents['message.reply-text'];
    for (const data of [{}, { media: { type: 'hologram', id: '1' } }]) {
      const msg = (value({ ...base, data }).messages as [Record<string, unknown>])[0];
      expect(msg.type).toBe('unsupported');
      expect(Object.keys(msg)).toEqual(['from', 'id', 'timestamp', 'type']);
    }
  });

  it('drops the contact profile when no name is known', () => {
    const contacts = value({ ...formatEvents['message.reply-text'], data: { text: 'hi' } }).contacts;
    expect(contacts).toEqual([{ wa_id: '393336188770' }]);
  });
});
