// Sample events for `POST …/:id/test` and `?verify=true`: realistic enough for every format,
// marked `data.test: true`, built from the subscription's own filters so they would match it.
import { EVENT_TYPES, type EventType, type HooklineEvent } from './event.js';
import { newId } from './ids.js';
import { coversType, type Subscription } from './subscription.js';

type SampleSource = Pick<Subscription, 'tenantId' | 'events' | 'channels' | 'senders' | 'subProduct'>;

const PREFERRED: readonly EventType[] = ['message.delivered', 'message.reply', 'auth.success'];

/** The type a test sends when none is asked for: a common one the subscription covers. */
export function defaultSampleType(sub: Pick<Subscription, 'events'>): EventType {
  return (
    PREFERRED.find((t) => coversType(sub.events, t)) ??
    EVENT_TYPES.find((t) => coversType(sub.events, t)) ??
    'message.delivered'
  );
}

const DATA: Partial<Record<EventType, Record<string, unknown>>> = {
  'message.reply': { text: 'Hello from Hookline' },
  'message.template': { template: { name: 'hookline_test', language: 'en' } },
  'auth.fallback': { fromChannel: 'whatsapp', toChannel: 'sms' },
  'auth.approval': { token: 'test-approval' },
};

export function sampleEvent(
  sub: SampleSource,
  type: EventType = defaultSampleType(sub),
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
    data: { test: true, ...DATA[type] },
    acceptedAt: now,
  };
}
