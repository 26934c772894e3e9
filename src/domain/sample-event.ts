// Sample events for `POST …/:id/test` and `?verify=true`: realistic enough for every format,
// marked `data.test: true`, built from the subscription's own filters so they would match it.
import {
  EVENT_TYPES,
  OPERATIONAL_EVENT_TYPES,
  type EventType,
  type HooklineEvent,
  type OperationalEventType,
} from './event.js';
import { newId } from './ids.js';
import { coversEvent } from './matching.js';
import { coversType, type Subscription } from './subscription.js';

type SampleSource = Pick<Subscription, 'tenantId' | 'events' | 'channels' | 'senders' | 'subProduct'>;

const PREFERRED: readonly EventType[] = ['message.delivered', 'message.reply', 'auth.success'];

type SampleType = EventType | OperationalEventType;

/** The type a test sends when none is asked for: a common one the subscription covers. */
export function defaultSampleType(sub: Pick<Subscription, 'events'>): SampleType {
  return (
    PREFERRED.find((t) => coversType(sub.events, t)) ??
    EVENT_TYPES.find((t) => coversType(sub.events, t)) ??
    OPERATIONAL_EVENT_TYPES.find((t) => coversEvent(sub.events, t)) ??
    'message.delivered'
  );
}

const DATA: Partial<Record<SampleType, Record<string, unknown>>> = {
  'subscription.disabled': { subscriptionId: 'sub_test', reason: 'gone' },
  'delivery.exhausted': {
    deliveryId: 'dlv_test',
    eventId: 'evt_test',
    subscriptionId: 'sub_test',
    attempts: 11,
    lastError: { code: 'http_error', message: 'subscriber answered 500', statusCode: 500 },
  },
  'message.reply': { text: 'Hello from Hookline' },
  'message.template': { template: { name: 'hookline_test', language: 'en' } },
  'auth.fallback': { fromChannel: 'whatsapp', toChannel: 'sms' },
  'auth.approval': { token: 'test-approval' },
};

export function sampleEvent(
  sub: SampleSource,
  type: SampleType = defaultSampleType(sub),
  now = Date.now(),
): HooklineEvent {
  const isMessage = type.startsWith('message.');
  return {
    id: newId('evt_test'),
    tenantId: sub.tenantId,
    type,
    ...(isMessage ? { channel: sub.channels[0] ?? 'sms', messageId: newId('msg_test') } : {}),
    ...(sub.subProduct ? { subProduct: sub.subProduct } : {}),
    sender: sub.senders[0] ?? 'Hookline',
    recipient: '15550100000',
    occurredAt: new Date(now).toISOString(),
    ...(type === 'message.failed'
      ? { error: { code: 'test_error', title: 'Test failure', reason: 'sample event' } }
      : {}),
    data: {
      test: true,
      ...DATA[type],
      ...(type === 'subscription.disabled' ? { disabledAt: new Date(now).toISOString() } : {}),
    },
    acceptedAt: now,
  };
}
