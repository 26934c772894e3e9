// The pure parts of the runner's verdicts: which failures are retried (DeliveryError), how a
// thrown error is classified (classifyError), how long a retry waits (backoff, Retry-After),
// and which headers a subscriber may not set. The decision itself (every Verdict kind) and how
// commit carries it out are covered by test/pipeline/runner.test.ts against a real receiver,
// Redis and BullMQ.
import { describe, expect, it } from 'vitest';
import type { Subscription } from '../../src/domain/subscription.js';
import { classifyError } from '../../src/delivery/attempt.js';
import { isProtectedCustomHeader as isProtectedHeader } from '../../src/domain/subscription-headers.js';
import { DeliveryError, type DeliveryErrorCode } from '../../src/delivery/errors.js';
import { randomBytes } from 'node:crypto';
import { createSecretBox } from '../../src/crypto.js';
import { sealReportSecret, type HooklineEvent } from '../../src/domain/event.js';
import { reportTarget } from '../../src/pipeline/targets.js';
import { parseRetryAfter, retryAfterDelay, retryDelay } from '../../src/domain/backoff.js';
import { BACKOFF_TYPE, backoffStrategy } from '../../src/pipeline/jobs.js';

describe('DeliveryError.retryable', () => {
  it.each([
    ['http_error', true],
    ['timeout', true],
    ['connection_error', true],
    ['oauth_token_error', true],
    ['ssrf_blocked', false],
    ['gone', false],
    ['request_error', false],
  ] as const)('%s: retried=%s by default', (code: DeliveryErrorCode, retried) => {
    expect(new DeliveryError(code, 'm').retryable).toBe(retried);
  });

  it('an explicit option wins over the code', () => {
    expect(new DeliveryError('http_error', 'm', { retryable: false }).retryable).toBe(false);
    expect(new DeliveryError('gone', 'm', { retryable: true }).retryable).toBe(true);
  });

  it('keeps the status, the Retry-After delay and the cause', () => {
    const cause = new Error('root');
    const err = new DeliveryError('http_error', 'subscriber answered 429', {
      statusCode: 429,
      retryAfterMs: 5000,
      cause,
    });
    expect(err).toMatchObject({
      name: 'DeliveryError',
      code: 'http_error',
      message: 'subscriber answered 429',
    });
    expect(err.options).toMatchObject({ statusCode: 429, retryAfterMs: 5000 });
    expect(err.cause).toBe(cause);
  });
});

describe('classifyError', () => {
  it('keeps a DeliveryError as it is', () => {
    const err = new DeliveryError('request_error', 'bad config');
    expect(classifyError(err, 1000)).toBe(err);
  });

  it('an SSRF refusal is ssrf_blocked and never retried', () => {
    const cause = Object.assign(new Error('10.0.0.1 is not an allowed destination: private'), {
      code: 'ssrf_blocked',
    });
    const err = classifyError(cause, 1000);
    expect(err).toMatchObject({
      code: 'ssrf_blocked',
      message: '10.0.0.1 is not an allowed destination: private',
      retryable: false,
    });
    expect(err.cause).toBe(cause);
    expect(classifyError({ code: 'ssrf_blocked' }, 1000).message).toBe('address not allowed');
  });

  it('a token endpoint failure is oauth_token_error and retried', () => {
    const cause = Object.assign(new Error('token endpoint answered 500'), { code: 'oauth_token_error' });
    const err = classifyError(cause, 1000);
    expect(err).toMatchObject({
      code: 'oauth_token_error',
      message: 'token endpoint answered 500',
      retryable: true,
    });
    expect(err.cause).toBe(cause);
    expect(classifyError({ code: 'oauth_token_error' }, 1000).message).toBe('token endpoint failed');
  });

  it.each([
    [{ name: 'TimeoutError', message: 'signal timed out' }],
    [{ name: 'AbortError', message: 'aborted' }],
    [{ code: 'UND_ERR_HEADERS_TIMEOUT', message: 'Headers Timeout Error' }],
    [{ code: 'UND_ERR_BODY_TIMEOUT', message: 'Body Timeout Error' }],
  ])('%j is a timeout, retried', (raw) => {
    const cause = Object.assign(new Error(raw.message), raw);
    const err = classifyError(cause, 2500);
    expect(err).toMatchObject({ code: 'timeout', message: 'no response within 2500 ms', retryable: true });
    expect(err.cause).toBe(cause);
  });

  it('anything else is a retried connection_error naming its code', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(classifyError(refused, 1000)).toMatchObject({
      code: 'connection_error',
      message: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1',
      retryable: true,
      cause: refused,
    });
    expect(classifyError(new TypeError('fetch failed'), 1000).message).toBe('TypeError: fetch failed');
    expect(classifyError('boom', 1000).message).toBe('error: boom');
    expect(classifyError(null, 1000).message).toBe('error: null');
    expect(classifyError(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }), 1000).code).toBe(
      'connection_error',
    );
  });
});

describe('retry delays (SPEC §5)', () => {
  const s = { baseMs: 1000, maxMs: 60_000 };

  it('are the BullMQ backoff strategy named "hookline" (stored in every delivery job)', () => {
    expect(BACKOFF_TYPE).toBe('hookline');
  });

  it('the first retry waits the base; attempt numbers below 1 count as 1', () => {
    expect(retryDelay(1, s, () => 0.5)).toBe(1000);
    expect(retryDelay(0, s, () => 0.5)).toBe(1000);
    expect(retryDelay(-3, s, () => 0.5)).toBe(1000);
  });

  it('jitters by at most 20 % each way, rounded', () => {
    expect(retryDelay(2, s, () => 0)).toBe(1600);
    expect(retryDelay(2, s, () => 1)).toBe(2400);
    expect(retryDelay(2, s, () => 0.75)).toBe(2200);
    expect(retryDelay(1, { baseMs: 3, maxMs: 10 }, () => 0.9)).toBe(3);
  });

  it('caps before jitter', () => {
    expect(retryDelay(7, s, () => 0.5)).toBe(60_000);
    expect(retryDelay(6, s, () => 0.5)).toBe(32_000);
  });

  it('Retry-After is honoured between 0 and the cap', () => {
    expect(retryAfterDelay(30_000, s)).toBe(30_000);
    expect(retryAfterDelay(60_000, s)).toBe(60_000);
    expect(retryAfterDelay(120_000, s)).toBe(60_000);
    expect(retryAfterDelay(-5, s)).toBe(0);
  });

  it('the BullMQ strategy uses the delay the processor recorded, else computes one', () => {
    const strategy = backoffStrategy(s);
    expect(strategy(3, 'hookline', Object.assign(new Error('retry'), { retryDelayMs: 4321 }))).toBe(4321);
    expect(strategy(3, 'hookline', Object.assign(new Error('retry'), { retryDelayMs: 0 }))).toBe(0);
    const computed = strategy(3, 'hookline', new Error('plain')) as number;
    expect(computed).toBeGreaterThanOrEqual(3200);
    expect(computed).toBeLessThanOrEqual(4800);
    expect(strategy(1, 'hookline', undefined)).toBeGreaterThanOrEqual(800);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');

  it('reads delta-seconds, trimmed', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 7 ', now)).toBe(7000);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Sat, 01 Mar 2025 12:01:30 GMT', now)).toBe(90_000);
    expect(parseRetryAfter('Sat, 01 Mar 2025 11:00:00 GMT', now)).toBe(0);
  });

  it('takes the first of repeated headers', () => {
    expect(parseRetryAfter(['3', '60'], now)).toBe(3000);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter([], now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    // Digits with anything else are not delta-seconds (and not dates either).
    expect(parseRetryAfter('5s', now)).toBeUndefined();
    expect(parseRetryAfter('1e3', now)).toBeUndefined();
    expect(parseRetryAfter('x5', now)).toBeUndefined();
  });

  it('never answers a negative delay', () => {
    // "-5" is not delta-seconds; Date.parse reads it as a year-2001 date, long past.
    expect(parseRetryAfter('-5', now)).toBe(0);
  });
});

describe('isProtectedHeader (what customHeaders can never set)', () => {
  const none = { authType: 'none' } as Pick<Subscription, 'authType' | 'secret'>;

  it.each([
    'content-type',
    'Content-Type',
    'user-agent',
    'host',
    'content-length',
    'transfer-encoding',
    'connection',
    'authorization',
    'webhook-id',
    'Webhook-Signature',
  ])('%s is always protected', (name) => {
    expect(isProtectedHeader(name, none)).toBe(true);
  });

  it('the secret header of a secret subscription is protected, any case', () => {
    const sub = { authType: 'secret', secret: { headerName: 'X-Api-Key', value: 'v' } } as const;
    expect(isProtectedHeader('x-api-key', sub)).toBe(true);
    expect(isProtectedHeader('X-API-KEY', sub)).toBe(true);
    expect(isProtectedHeader('x-api-key', none)).toBe(false);
  });

  it('leaves other headers to the subscriber', () => {
    expect(isProtectedHeader('x-tenant', none)).toBe(false);
    expect(isProtectedHeader('accept', none)).toBe(false);
  });
});

describe('reportTarget (an event’s own deliveryReport destination)', () => {
  const event: HooklineEvent = {
    id: 'evt_1',
    tenantId: 'tnt_a',
    type: 'message.delivered',
    channel: 'sms',
    messageId: 'msg_1',
    occurredAt: '2025-03-01T12:00:00.000Z',
    acceptedAt: 0,
    deliveryReport: { webhookUrl: 'https://dlr.example.com/r' },
  };

  const box = createSecretBox(randomBytes(32).toString('base64'));

  it('is an otpiq POST without auth, ten retries, reportType all by default', () => {
    expect(reportTarget(event, box)).toMatchObject({
      tenantId: 'tnt_a',
      webhookUrl: 'https://dlr.example.com/r',
      events: ['*'],
      channels: [],
      senders: [],
      reportType: 'all',
      format: 'otpiq',
      method: 'POST',
      encoding: 'json',
      authType: 'none',
      timeoutMs: 10_000,
      maxRetries: 10,
      status: 'active',
      signingSecrets: [],
    });
    expect(reportTarget(event, box)).not.toHaveProperty('secret');
  });

  it('sends the webhookSecret as X-Webhook-Secret, decrypted from the stored event', () => {
    const withSecret = sealReportSecret(
      {
        ...event,
        deliveryReport: { webhookUrl: 'https://x/', reportType: 'final' as const, webhookSecret: 's3' },
      },
      box,
    );
    expect(withSecret.deliveryReport!.webhookSecret).toMatch(/^enc:v2:/);
    expect(reportTarget(withSecret, box)).toMatchObject({
      reportType: 'final',
      authType: 'secret',
      secret: { headerName: 'X-Webhook-Secret', value: 's3' },
    });
  });
});
