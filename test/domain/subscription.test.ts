// Subscriptions (SPEC §3): the writable schema's limits, defaults, the rules beyond the schema,
// webhook URL parsing and event patterns. Pure, no I/O.
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { CHANNELS, EVENT_TYPES, OPERATIONAL_EVENT_TYPES } from '../../src/domain/event.js';
import {
  AUTH_TYPES,
  coversType,
  DEFAULT_SECRET_HEADER,
  EVENT_PATTERNS,
  FORMATS,
  PARAM_FIELDS,
  parseWebhookUrl,
  subscriptionRuleErrors,
  SubscriptionInputSchema,
  withDefaults,
  type SubscriptionInput,
} from '../../src/domain/subscription.js';
import type { FieldError } from '../../src/domain/errors.js';

const schema = Compile(SubscriptionInputSchema);
const base: SubscriptionInput = { webhookUrl: 'https://example.com/hook', events: ['*'] };
const x = (n: number) => 'x'.repeat(n);
const map = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
const oauth2 = {
  grantType: 'client_credentials' as const,
  tokenUrl: 'https://auth.example.com/token',
  clientId: 'id',
  clientSecret: 's',
};

/** Where the schema refuses `input` (the instance paths of its errors). */
const refusedAt = (input: unknown) => [...schema.Errors(input)].map((e) => e.instancePath);

describe('the subscription schema', () => {
  it('accepts the smallest subscription and every enum value', () => {
    expect(schema.Check(base)).toBe(true);
    expect(schema.Check({ ...base, events: [...EVENT_PATTERNS] })).toBe(true);
    expect(EVENT_PATTERNS).toEqual([
      ...EVENT_TYPES,
      ...OPERATIONAL_EVENT_TYPES,
      'message.*',
      'auth.*',
      'subscription.*',
      'delivery.*',
      '*',
    ]);
    expect(schema.Check({ ...base, channels: [...CHANNELS] })).toBe(true);
    for (const subProduct of ['transactional', 'conversational'])
      expect(schema.Check({ ...base, subProduct })).toBe(true);
    for (const reportType of ['all', 'final']) expect(schema.Check({ ...base, reportType })).toBe(true);
    for (const format of FORMATS) expect(schema.Check({ ...base, format }), format).toBe(true);
    for (const method of ['POST', 'GET']) expect(schema.Check({ ...base, method }), method).toBe(true);
    for (const encoding of ['json', 'form', 'xml'])
      expect(schema.Check({ ...base, encoding }), encoding).toBe(true);
    for (const authType of AUTH_TYPES) expect(schema.Check({ ...base, authType }), authType).toBe(true);
    const names = Object.fromEntries(PARAM_FIELDS.map((f) => [f, `my_${f}`]));
    expect(schema.Check({ ...base, fieldNames: names })).toBe(true);
    expect(FORMATS).toEqual(['native', 'otpless', 'otpiq', 'meta', 'params']);
    expect(AUTH_TYPES).toEqual(['none', 'secret', 'bearer', 'basic', 'oauth2']);
  });

  it('accepts a full subscription at its limits', () => {
    const full = {
      ...base,
      webhookUrl: x(2048),
      description: x(1024),
      senders: [x(256), 'b'],
      filter: { path: '$.a', op: 'exists' },
      customParams: { [x(128)]: x(2048), ...map(19) },
      customHeaders: map(20),
      authType: 'oauth2',
      oauth2: {
        ...oauth2,
        grantType: 'refresh_token',
        tokenUrl: x(2048),
        clientId: x(512),
        clientSecret: x(4096),
        refreshToken: x(8192),
        scopes: [x(256), ...Array.from({ length: 49 }, (_, i) => `s${i}`)],
        audience: x(2048),
        expiresIn: 31_536_000,
        authMethod: 'client_secret_post',
      },
      secret: { headerName: "A-Z!#$%&'*+.^_`|~09", value: x(4096) },
      bearer: { token: x(4096) },
      basic: { username: x(512), password: x(4096) },
      timeoutMs: 30_000,
      maxRetries: 20,
      rateLimit: { perSecond: 100_000 },
    };
    expect(refusedAt(full)).toEqual([]);
    expect(
      refusedAt({
        ...base,
        timeoutMs: 1000,
        maxRetries: 0,
        rateLimit: { perSecond: 1 },
        oauth2: { ...oauth2, expiresIn: 1 },
      }),
    ).toEqual([]);
    expect(schema.Check({ ...base, oauth2: { ...oauth2, authMethod: 'client_secret_basic' } })).toBe(true);
  });

  it.each([
    ['/webhookUrl', { webhookUrl: '' }],
    ['/webhookUrl', { webhookUrl: x(2049) }],
    ['/description', { description: x(1025) }],
    ['/events', { events: [] }],
    ['/events', { events: ['*', '*'] }],
    ['/events/0', { events: ['message.everything'] }],
    ['/channels', { channels: ['sms', 'sms'] }],
    ['/channels/0', { channels: ['fax'] }],
    ['/subProduct', { subProduct: 'marketing' }],
    ['/senders', { senders: ['a', 'a'] }],
    ['/senders/0', { senders: [''] }],
    ['/senders/0', { senders: [x(257)] }],
    ['/reportType', { reportType: 'some' }],
    ['/filter', { filter: [] }],
    ['/format', { format: 'soap' }],
    ['/method', { method: 'PUT' }],
    ['/encoding', { encoding: 'yaml' }],
    ['/fieldNames/mobile', { fieldNames: { mobile: '' } }],
    ['/fieldNames/mobile', { fieldNames: { mobile: x(129) } }],
    ['/fieldNames/phone', { fieldNames: { phone: 'p' } }],
    ['/customParams', { customParams: map(21) }],
    ['/customParams/k', { customParams: { k: x(2049) } }],
    ['/customHeaders', { customHeaders: map(21) }],
    ['/customHeaders/X-A', { customHeaders: { 'X-A': 1 } }],
    ['/authType', { authType: 'digest' }],
    ['/secret', { secret: {} }],
    ['/secret/value', { secret: { value: '' } }],
    ['/secret/value', { secret: { value: x(4097) } }],
    ['/secret/headerName', { secret: { value: 'v', headerName: '' } }],
    ['/secret/headerName', { secret: { value: 'v', headerName: x(129) } }],
    ['/secret/headerName', { secret: { value: 'v', headerName: 'X Secret' } }],
    ['/secret/headerName', { secret: { value: 'v', headerName: 'X:Secret' } }],
    ['/secret/extra', { secret: { value: 'v', extra: 1 } }],
    ['/bearer/token', { bearer: { token: '' } }],
    ['/bearer/token', { bearer: { token: x(4097) } }],
    ['/bearer/extra', { bearer: { token: 't', extra: 1 } }],
    ['/basic/username', { basic: { username: '', password: 'p' } }],
    ['/basic/username', { basic: { username: x(513), password: 'p' } }],
    ['/basic/password', { basic: { username: 'u', password: '' } }],
    ['/basic/extra', { basic: { username: 'u', password: 'p', extra: 1 } }],
    ['/oauth2/grantType', { oauth2: { ...oauth2, grantType: 'password' } }],
    ['/oauth2/tokenUrl', { oauth2: { ...oauth2, tokenUrl: '' } }],
    ['/oauth2/tokenUrl', { oauth2: { ...oauth2, tokenUrl: x(2049) } }],
    ['/oauth2/clientId', { oauth2: { ...oauth2, clientId: '' } }],
    ['/oauth2/clientId', { oauth2: { ...oauth2, clientId: x(513) } }],
    ['/oauth2/clientSecret', { oauth2: { ...oauth2, clientSecret: '' } }],
    ['/oauth2/refreshToken', { oauth2: { ...oauth2, refreshToken: x(8193) } }],
    ['/oauth2/scopes', { oauth2: { ...oauth2, scopes: Array.from({ length: 51 }, (_, i) => `s${i}`) } }],
    ['/oauth2/scopes/0', { oauth2: { ...oauth2, scopes: [''] } }],
    ['/oauth2/scopes/0', { oauth2: { ...oauth2, scopes: [x(257)] } }],
    ['/oauth2/audience', { oauth2: { ...oauth2, audience: x(2049) } }],
    ['/oauth2/expiresIn', { oauth2: { ...oauth2, expiresIn: 0 } }],
    ['/oauth2/expiresIn', { oauth2: { ...oauth2, expiresIn: 31_536_001 } }],
    ['/oauth2/expiresIn', { oauth2: { ...oauth2, expiresIn: 1.5 } }],
    ['/oauth2/authMethod', { oauth2: { ...oauth2, authMethod: 'private_key_jwt' } }],
    ['/oauth2/extra', { oauth2: { ...oauth2, extra: 1 } }],
    ['/timeoutMs', { timeoutMs: 999 }],
    ['/timeoutMs', { timeoutMs: 30_001 }],
    ['/timeoutMs', { timeoutMs: 1000.5 }],
    ['/maxRetries', { maxRetries: -1 }],
    ['/maxRetries', { maxRetries: 21 }],
    ['/rateLimit/perSecond', { rateLimit: { perSecond: 0 } }],
    ['/rateLimit/perSecond', { rateLimit: { perSecond: 100_001 } }],
    ['/rateLimit', { rateLimit: {} }],
    ['/rateLimit/burst', { rateLimit: { perSecond: 1, burst: 2 } }],
    ['/status', { status: 'active' }],
  ])('refuses at %s: %j', (path, fields) => {
    expect(refusedAt({ ...base, ...fields })).toContain(path);
  });

  it('limits customParams and customHeaders names to 1-128 characters', () => {
    for (const key of ['customParams', 'customHeaders']) {
      expect(schema.Check({ ...base, [key]: { ['k'.repeat(128)]: 'v' } }), key).toBe(true);
      expect(schema.Check({ ...base, [key]: { ['k'.repeat(129)]: 'v' } }), key).toBe(false);
      expect(schema.Check({ ...base, [key]: { '': 'v' } }), key).toBe(false);
    }
  });

  it('publishes its enums as strings and documents the free-form fields', () => {
    const props = SubscriptionInputSchema.properties;
    for (const key of ['reportType', 'format', 'method', 'encoding', 'authType', 'subProduct'] as const) {
      expect(props[key], key).toMatchObject({ type: 'string' });
    }
    expect(props.events.items).toMatchObject({ type: 'string' });
    expect(props.oauth2.properties.grantType).toMatchObject({ type: 'string' });
    expect(props.filter).toHaveProperty('description', expect.stringMatching(/filter/));
    expect(props.customParams).toHaveProperty('description', expect.stringMatching(/params/));
    expect(props.customHeaders).toHaveProperty('description', expect.stringMatching(/headers/));
    expect(props.customHeaders).toHaveProperty(
      'description',
      expect.stringMatching(/values are secrets, masked/),
    );
    expect(props.dropStaleStatuses).toMatchObject({ type: 'boolean' });
    expect(props.dropStaleStatuses).toHaveProperty(
      'description',
      expect.stringMatching(/^Default true.*superseded/),
    );
  });

  it('needs webhookUrl and events', () => {
    expect(schema.Check({ events: ['*'] })).toBe(false);
    expect(schema.Check({ webhookUrl: 'https://x.example/' })).toBe(false);
  });

  it('is published as SubscriptionInput', () => {
    expect(SubscriptionInputSchema).toHaveProperty('$id', 'SubscriptionInput');
  });
});

describe('withDefaults (SPEC §3)', () => {
  it('fills every default', () => {
    expect(withDefaults(base)).toStrictEqual({
      ...base,
      channels: [],
      senders: [],
      reportType: 'all',
      format: 'native',
      method: 'POST',
      encoding: 'json',
      authType: 'none',
      secret: undefined,
      timeoutMs: 10_000,
      maxRetries: 10,
      dropStaleStatuses: true,
    });
  });

  it('keeps what is given', () => {
    const given: SubscriptionInput = {
      ...base,
      channels: ['sms'],
      senders: ['ACME'],
      reportType: 'final',
      format: 'params',
      method: 'GET',
      encoding: 'form',
      authType: 'secret',
      secret: { headerName: 'X-Key', value: 'v' },
      timeoutMs: 2000,
      maxRetries: 0,
      dropStaleStatuses: false,
    };
    expect(withDefaults(given)).toStrictEqual(given);
  });

  it('names the secret header X-Webhook-Secret by default', () => {
    expect(DEFAULT_SECRET_HEADER).toBe('X-Webhook-Secret');
    expect(withDefaults({ ...base, secret: { value: 'v' } }).secret).toStrictEqual({
      headerName: 'X-Webhook-Secret',
      value: 'v',
    });
  });
});

describe('subscriptionRuleErrors', () => {
  const rules = (fields: Partial<SubscriptionInput>, allowHttp = false) =>
    subscriptionRuleErrors({ ...base, ...fields }, { allowHttp });

  it('accepts a plain https subscription', () => {
    expect(rules({})).toEqual([]);
  });

  it('checks the webhook URL', () => {
    expect(rules({ webhookUrl: 'http://example.com/' })).toEqual([
      { path: '/webhookUrl', message: 'must be an https URL (plain http is disabled)' },
    ]);
    expect(rules({ webhookUrl: 'http://example.com/' }, true)).toEqual([]);
  });

  it('a conversational subscription must cover message.reply', () => {
    const error = { path: '/events', message: 'a conversational subscription must cover message.reply' };
    expect(rules({ subProduct: 'conversational', events: ['message.delivered'] })).toEqual([error]);
    expect(rules({ subProduct: 'conversational', events: ['message.*'] })).toEqual([]);
    expect(rules({ subProduct: 'conversational', events: ['message.reply'] })).toEqual([]);
    expect(rules({ subProduct: 'transactional', events: ['message.delivered'] })).toEqual([]);
  });

  it('each authType needs its settings object and no other', () => {
    expect(rules({ authType: 'secret' })).toEqual([
      { path: '/secret', message: 'is required when authType is secret' },
    ]);
    expect(rules({ authType: 'bearer' })).toEqual([
      { path: '/bearer', message: 'is required when authType is bearer' },
    ]);
    expect(rules({ authType: 'basic' })).toEqual([
      { path: '/basic', message: 'is required when authType is basic' },
    ]);
    expect(rules({ authType: 'oauth2' })).toEqual([
      { path: '/oauth2', message: 'is required when authType is oauth2' },
    ]);
    expect(rules({ bearer: { token: 't' } })).toEqual([
      { path: '/bearer', message: 'is only allowed when authType is bearer' },
    ]);
    expect(
      rules({ authType: 'basic', basic: { username: 'u', password: 'p' }, secret: { value: 'v' } }),
    ).toEqual([{ path: '/secret', message: 'is only allowed when authType is secret' }]);
    expect(rules({ authType: 'secret', secret: { value: 'v' } })).toEqual([]);
    expect(rules({ authType: 'oauth2', oauth2 })).toEqual([]);
  });

  it('the refresh_token grant needs a refresh token', () => {
    const refresh = { ...oauth2, grantType: 'refresh_token' as const };
    expect(rules({ authType: 'oauth2', oauth2: refresh })).toEqual([
      { path: '/oauth2/refreshToken', message: 'is required for the refresh_token grant' },
    ]);
    expect(rules({ authType: 'oauth2', oauth2: { ...refresh, refreshToken: 'r' } })).toEqual([]);
  });

  it('checks the token URL like the webhook URL', () => {
    const plain = { ...oauth2, tokenUrl: 'http://auth.example.com/token' };
    expect(rules({ authType: 'oauth2', oauth2: plain })).toEqual([
      { path: '/oauth2/tokenUrl', message: 'must be an https URL (plain http is disabled)' },
    ]);
    expect(rules({ authType: 'oauth2', oauth2: plain }, true)).toEqual([]);
    // Also when authType does not match: both problems are named.
    expect(rules({ oauth2: { ...oauth2, tokenUrl: 'token' } }).map((e) => e.path)).toEqual([
      '/oauth2',
      '/oauth2/tokenUrl',
    ]);
  });

  it('GET takes no encoding but json', () => {
    expect(rules({ method: 'GET', encoding: 'form' })).toEqual([
      { path: '/encoding', message: 'GET sends a query string; encoding does not apply' },
    ]);
    expect(rules({ method: 'GET', encoding: 'json' })).toEqual([]);
    expect(rules({ method: 'GET' })).toEqual([]);
    expect(rules({ method: 'POST', encoding: 'xml' })).toEqual([]);
  });

  it('refuses a #fragment in the webhook and token URLs, once per field', () => {
    const fragment = 'must not contain a #fragment (it is never sent)';
    expect(rules({ webhookUrl: 'https://example.com/hook#part' })).toEqual([
      { path: '/webhookUrl', message: fragment },
    ]);
    expect(rules({ webhookUrl: 'https://example.com/hook#' })).toEqual([
      { path: '/webhookUrl', message: fragment },
    ]);
    expect(
      rules({ authType: 'oauth2', oauth2: { ...oauth2, tokenUrl: 'https://auth.example.com/t#x' } }),
    ).toEqual([{ path: '/oauth2/tokenUrl', message: fragment }]);
    // A URL refused already is not refused twice.
    expect(rules({ webhookUrl: 'http://example.com/#x' })).toEqual([
      { path: '/webhookUrl', message: 'must be an https URL (plain http is disabled)' },
    ]);
    expect(rules({ authType: 'oauth2', oauth2: { ...oauth2, tokenUrl: 'nope#x' } })).toEqual([
      { path: '/oauth2/tokenUrl', message: 'must be an absolute URL' },
    ]);
    // Another field's error does not hide this one.
    expect(
      rules({ webhookUrl: 'http://example.com/', oauth2: { ...oauth2, tokenUrl: 'https://a.example/#x' } }),
    ).toEqual([
      { path: '/webhookUrl', message: 'must be an https URL (plain http is disabled)' },
      { path: '/oauth2', message: 'is only allowed when authType is oauth2' },
      { path: '/oauth2/tokenUrl', message: fragment },
    ]);
  });

  it('with encoding xml, needs customParams keys and fieldNames to be XML element names', () => {
    const problem =
      'must be an XML element name when encoding is xml (a letter or _ first, no spaces or ":")';
    const xml = {
      encoding: 'xml' as const,
      format: 'params' as const,
      customParams: { ok_name: '1', '1st': '2', 'a b': '3', 'a/b': '4' },
      fieldNames: { messageId: 'msg-id', mobile: 'ns:mobile', status: '_s' },
    };
    expect(rules(xml)).toEqual([
      { path: '/customParams/1st', message: problem },
      { path: '/customParams/a b', message: problem },
      { path: '/customParams/a~1b', message: problem },
      { path: '/fieldNames/mobile', message: problem },
    ]);
    expect(rules({ ...xml, encoding: 'form' })).toEqual([]);
    expect(rules({ ...xml, encoding: undefined })).toEqual([]);
    expect(rules({ encoding: 'xml', fieldNames: { status: undefined } })).toEqual([]);
    expect(rules({ encoding: 'xml' })).toEqual([]);
  });

  it('includes the header rules', () => {
    expect(rules({ authType: 'bearer', bearer: { token: 'a\nb' }, customHeaders: { Host: 'h' } })).toEqual([
      {
        path: '/bearer/token',
        message:
          'must be visible ASCII, spaces or tabs (no CR, LF, NUL or other control characters), at most 8192 characters',
      },
      { path: '/customHeaders/Host', message: '"Host" is reserved: Hookline sets it itself' },
    ]);
  });
});

describe('parseWebhookUrl', () => {
  const parse = (raw: string, allowHttp = false) => {
    const errors: FieldError[] = [];
    const url = parseWebhookUrl(raw, { allowHttp }, '/u', errors);
    return { url: url?.href, errors: errors.map((e) => `${e.path}: ${e.message}`) };
  };

  it('returns the parsed https URL', () => {
    expect(parse('https://Example.com:8443/a?b=1')).toEqual({
      url: 'https://example.com:8443/a?b=1',
      errors: [],
    });
    expect(parse('http://example.com/', true)).toEqual({ url: 'http://example.com/', errors: [] });
  });

  it.each([
    ['example.com/hook', '/u: must be an absolute URL'],
    ['ftp://example.com/', '/u: must be an https URL'],
    ['javascript:alert(1)', '/u: must be an https URL'],
    ['http://example.com/', '/u: must be an https URL (plain http is disabled)'],
    ['https://user:pw@example.com/', '/u: must not contain credentials; use authType basic'],
    ['https://user@example.com/', '/u: must not contain credentials; use authType basic'],
    ['https://:pw@example.com/', '/u: must not contain credentials; use authType basic'],
  ])('refuses %s', (raw, error) => {
    expect(parse(raw)).toEqual({ url: undefined, errors: [error] });
  });
});

describe('coversType', () => {
  it.each([
    [['*'], 'auth.success', true],
    [['message.sent'], 'message.sent', true],
    [['message.sent'], 'message.read', false],
    [['message.*'], 'message.read', true],
    [['message.*'], 'auth.success', false],
    [['auth.*'], 'auth.approval', true],
    [['auth.*', 'message.read'], 'message.read', true],
    [[], 'message.read', false],
    // Exact patterns are exact; only a trailing ".*" is a prefix.
    [['message.sent'], 'message.sentinel', false],
    [['message*'], 'message.sent', false],
    [['message.*'], 'messages.sent', false],
  ] as const)('%j covers %s: %s', (patterns, type, covered) => {
    expect(coversType(patterns, type)).toBe(covered);
  });
});
