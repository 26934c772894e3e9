// Events and delivery records for history tests, shaped as Hookline writes them.
import { randomBytes } from 'node:crypto';
import type { HooklineEvent } from '../../../src/domain/event.js';
import { deliveryId } from '../../../src/domain/ids.js';
import type { Attempt, DeliveryRecord } from '../../../src/store/delivery-store.js';
import type { HistoryDelivery } from '../../../src/store/history/history-store.js';

export const iso = (ms: number) => new Date(ms).toISOString();
export const tag = () => randomBytes(5).toString('hex');

export function makeEvent(tenantId: string, at: number, over: Partial<HooklineEvent> = {}): HooklineEvent {
  return {
    id: `evt_${tag()}`,
    tenantId,
    type: 'message.delivered',
    channel: 'sms',
    messageId: `msg-${tag()}`,
    sender: 'HOOKLINE',
    recipient: '9647700000000',
    occurredAt: iso(at - 5_000),
    data: { n: 1, nested: { ok: true } },
    acceptedAt: at,
    ...over,
  };
}

export function makeAttempt(n: number, startedMs: number, over: Partial<Attempt> = {}): Attempt {
  return {
    n,
    startedAt: iso(startedMs),
    durationMs: 12,
    statusCode: 200,
    error: null,
    responseHeaders: { 'content-length': '2', date: 'Wed, 01 Jan 2025 10:00:00 GMT' },
    responseBody: 'ok',
    ...over,
  };
}

export function makeDelivery(
  event: HooklineEvent,
  subscriptionId: string,
  over: Partial<HistoryDelivery> = {},
): HistoryDelivery {
  const created = event.acceptedAt + 3;
  return {
    id: deliveryId(event.tenantId, event.id, subscriptionId, over.series ?? 0),
    eventId: event.id,
    subscriptionId,
    tenantId: event.tenantId,
    target: 'subscription',
    status: 'succeeded',
    createdAt: iso(created),
    updatedAt: iso(created + 40),
    nextAttemptAt: null,
    attempts: [makeAttempt(1, created + 10)],
    eventType: event.type,
    ...over,
  };
}

/** The record as a store returns it (no eventType). */
export function asRecord(d: HistoryDelivery): DeliveryRecord {
  const { eventType: _type, ...record } = d;
  return record;
}
