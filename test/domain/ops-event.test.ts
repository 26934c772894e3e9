// Operational events (src/domain/ops-event.ts): their shape, and ids derived from what they
// report so that the same fact reported twice is one event. Pure, no I/O.
import { describe, expect, it } from 'vitest';
import {
  deliveryExhaustedEvent,
  subscriptionDisabledEvent,
  type DeliveryExhausted,
  type SubscriptionDisabled,
} from '../../src/domain/ops-event.js';

const NOW = Date.parse('2025-03-01T12:00:00.000Z');
const UPDATED = '2025-02-01T00:00:00.000Z';
const disabled: SubscriptionDisabled = {
  subscriptionId: 'sub_1',
  reason: 'gone',
  disabledAt: '2025-03-01T11:59:00.000Z',
};
const exhausted: DeliveryExhausted = {
  deliveryId: 'dlv_1',
  eventId: 'evt_1',
  subscriptionId: 'sub_1',
  attempts: 11,
  lastError: { code: 'http_error', message: 'subscriber answered 500', statusCode: 500 },
};

describe('subscriptionDisabledEvent', () => {
  it('is a subscription.disabled event of the tenant, accepted and occurring now', () => {
    expect(subscriptionDisabledEvent('tnt_a', disabled, UPDATED, NOW)).toStrictEqual({
      id: `evt_ops.disabled.sub_1.${Date.parse(UPDATED)}`,
      tenantId: 'tnt_a',
      type: 'subscription.disabled',
      occurredAt: '2025-03-01T12:00:00.000Z',
      acceptedAt: NOW,
      data: { subscriptionId: 'sub_1', reason: 'gone', disabledAt: '2025-03-01T11:59:00.000Z' },
    });
  });

  it('is one event per subscription state: same state same id, a later change a new one', () => {
    const a = subscriptionDisabledEvent('tnt_a', disabled, UPDATED, NOW);
    expect(subscriptionDisabledEvent('tnt_a', { ...disabled, reason: 'failing' }, UPDATED, NOW + 5).id).toBe(
      a.id,
    );
    expect(subscriptionDisabledEvent('tnt_a', disabled, '2025-02-02T00:00:00.000Z', NOW).id).not.toBe(a.id);
    expect(
      subscriptionDisabledEvent('tnt_a', { ...disabled, subscriptionId: 'sub_2' }, UPDATED, NOW).id,
    ).not.toBe(a.id);
  });

  it('counts an unreadable previous time as 0', () => {
    expect(subscriptionDisabledEvent('tnt_a', disabled, 'garbage', NOW).id).toBe('evt_ops.disabled.sub_1.0');
  });

  it('copies the data it reports and defaults to the current time', () => {
    const data = { ...disabled };
    const e = subscriptionDisabledEvent('tnt_a', data, UPDATED);
    expect(e.data).not.toBe(data);
    expect(Math.abs(e.acceptedAt - Date.now())).toBeLessThan(5000);
    expect(Date.parse(e.occurredAt)).toBe(e.acceptedAt);
  });
});

describe('deliveryExhaustedEvent', () => {
  it('is a delivery.exhausted event named after its delivery', () => {
    expect(deliveryExhaustedEvent('tnt_a', exhausted, NOW)).toStrictEqual({
      id: 'evt_ops.exhausted.dlv_1',
      tenantId: 'tnt_a',
      type: 'delivery.exhausted',
      occurredAt: '2025-03-01T12:00:00.000Z',
      acceptedAt: NOW,
      data: { ...exhausted },
    });
  });

  it('is one event per delivery: a re-drive (a new delivery) is another', () => {
    expect(deliveryExhaustedEvent('tnt_a', { ...exhausted, attempts: 3 }, NOW + 1).id).toBe(
      'evt_ops.exhausted.dlv_1',
    );
    expect(deliveryExhaustedEvent('tnt_a', { ...exhausted, deliveryId: 'dlv_2' }, NOW).id).toBe(
      'evt_ops.exhausted.dlv_2',
    );
  });
});
