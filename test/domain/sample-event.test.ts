// Sample events for test sends and endpoint verification: valid, marked as tests, and matching
// the subscription they are built from.
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, schemaErrors, eventRuleErrors, type EventInput } from '../../src/domain/event.js';
import { matches } from '../../src/domain/matching.js';
import { defaultSampleType, sampleEvent } from '../../src/domain/sample-event.js';
import type { Subscription } from '../../src/domain/subscription.js';

const NOW = Date.parse('2025-03-01T12:00:00.000Z');
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

describe('defaultSampleType', () => {
  it.each([
    [['*'], 'message.delivered'],
    [['message.*'], 'message.delivered'],
    [['message.reply', 'message.delivered'], 'message.delivered'],
    [['message.reply'], 'message.reply'],
    [['auth.*'], 'auth.success'],
    [['message.read', 'auth.fallback'], 'message.read'],
    // Preferred over types that come first in EVENT_TYPES.
    [['message.read', 'message.reply'], 'message.reply'],
    [['message.read', 'auth.success'], 'auth.success'],
    [['auth.approval'], 'auth.approval'],
    // Operational types only when nothing else is covered, and never through *.
    [['subscription.*'], 'subscription.disabled'],
    [['delivery.*'], 'delivery.exhausted'],
    [['delivery.exhausted', 'subscription.disabled'], 'subscription.disabled'],
    [['delivery.*', 'auth.fallback'], 'auth.fallback'],
    [[], 'message.delivered'],
  ])('for %j is %s', (events, type) => {
    expect(defaultSampleType({ events })).toBe(type);
  });
});

describe('sampleEvent', () => {
  it('builds a valid event of every type, marked as a test', () => {
    for (const type of EVENT_TYPES) {
      const e = sampleEvent(sub(), type, NOW);
      const { acceptedAt: _a, ...input } = e;
      expect(schemaErrors(input), type).toEqual([]);
      expect(eventRuleErrors(input as EventInput), type).toEqual([]);
      expect(e.data?.test, type).toBe(true);
      expect(e.id).toMatch(/^evt_test_/);
      expect(e.acceptedAt).toBe(NOW);
      expect(e.occurredAt).toBe('2025-03-01T12:00:00.000Z');
    }
  });

  it('uses the default type and the current time when not told', () => {
    const before = Date.now();
    const e = sampleEvent(sub({ events: ['auth.*'] }));
    expect(e.type).toBe('auth.success');
    expect(e.acceptedAt).toBeGreaterThanOrEqual(before);
  });

  it('message events get a channel and a message id, others none', () => {
    const m = sampleEvent(sub(), 'message.sent', NOW);
    expect(m.channel).toBe('sms');
    expect(m.messageId).toMatch(/^msg_test_/);
    const a = sampleEvent(sub(), 'auth.success', NOW);
    expect(a).not.toHaveProperty('channel');
    expect(a).not.toHaveProperty('messageId');
  });

  it('matches the subscription it is built from', () => {
    const narrow = sub({
      events: ['message.reply'],
      channels: ['whatsapp', 'sms'],
      senders: ['ACME'],
      subProduct: 'conversational',
      reportType: 'final',
    });
    const e = sampleEvent(narrow, undefined, NOW);
    expect(e).toMatchObject({
      tenantId: 'tnt_a',
      type: 'message.reply',
      channel: 'whatsapp',
      sender: 'ACME',
      subProduct: 'conversational',
      recipient: '15550100000',
    });
    expect(matches(narrow, e)).toBe(true);
    const plain = sampleEvent(sub(), undefined, NOW);
    expect(plain.sender).toBe('Hookline');
    expect(plain).not.toHaveProperty('subProduct');
    expect(matches(sub(), plain)).toBe(true);
  });

  it('carries type-specific data the formats need', () => {
    expect(sampleEvent(sub(), 'message.failed', NOW).error).toEqual({
      code: 'test_error',
      title: 'Test failure',
      reason: 'sample event',
    });
    expect(sampleEvent(sub(), 'message.delivered', NOW)).not.toHaveProperty('error');
    expect(sampleEvent(sub(), 'message.delivered', NOW).data).toEqual({ test: true });
    expect(sampleEvent(sub(), 'message.reply', NOW).data).toEqual({
      test: true,
      text: 'Hello from Hookline',
    });
    expect(sampleEvent(sub(), 'message.template', NOW).data).toEqual({
      test: true,
      template: { name: 'hookline_test', language: 'en' },
    });
    expect(sampleEvent(sub(), 'auth.fallback', NOW).data).toEqual({
      test: true,
      fromChannel: 'whatsapp',
      toChannel: 'sms',
    });
    expect(sampleEvent(sub(), 'auth.approval', NOW).data).toEqual({ test: true, token: 'test-approval' });
  });

  it('builds operational events with the data their receivers read', () => {
    const disabled = sampleEvent(sub({ events: ['subscription.*'] }), undefined, NOW);
    expect(disabled.type).toBe('subscription.disabled');
    expect(disabled.data).toStrictEqual({
      test: true,
      subscriptionId: 'sub_test',
      reason: 'gone',
      disabledAt: '2025-03-01T12:00:00.000Z',
    });
    expect(disabled).not.toHaveProperty('channel');
    expect(sampleEvent(sub(), 'delivery.exhausted', NOW).data).toStrictEqual({
      test: true,
      deliveryId: 'dlv_test',
      eventId: 'evt_test',
      subscriptionId: 'sub_test',
      attempts: 11,
      lastError: { code: 'http_error', message: 'subscriber answered 500', statusCode: 500 },
    });
    // A sample about sub_test reaches the subscription under test.
    expect(matches(sub({ events: ['subscription.*'] }), disabled)).toBe(true);
  });
});
