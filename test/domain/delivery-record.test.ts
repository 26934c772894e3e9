// The delivery record and the per-delivery state an event's answer shows (SPEC §4).
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import {
  AttemptSchema,
  DELIVERY_STATUSES,
  DeliveryRecordSchema,
  DeliveryStatusSchema,
  deliveryState,
  DeliveryStateSchema,
  FINAL_STATUSES,
  type DeliveryRecord,
} from '../../src/domain/delivery-record.js';

const attempt = (n: number, statusCode: number | null) => ({
  n,
  startedAt: '2025-01-01T00:00:00.000Z',
  durationMs: 12,
  statusCode,
  error: statusCode === 200 ? null : { code: 'http_error', message: `subscriber answered ${statusCode}` },
  responseHeaders: { 'content-type': 'text/plain' },
  responseBody: 'body',
});

const record = (extra: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
  id: 'dlv_1',
  eventId: 'evt_1',
  subscriptionId: 'sub_1',
  tenantId: 'tnt_a',
  target: 'subscription',
  status: 'retrying',
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-01T00:01:00.000Z',
  nextAttemptAt: '2025-01-01T00:02:00.000Z',
  attempts: [attempt(1, 500), attempt(2, null)],
  ...extra,
});

describe('delivery statuses', () => {
  it('are six, four of them final', () => {
    expect(DELIVERY_STATUSES).toEqual([
      'pending',
      'retrying',
      'succeeded',
      'failed',
      'cancelled',
      'superseded',
    ]);
    expect([...FINAL_STATUSES].sort()).toEqual(['cancelled', 'failed', 'succeeded', 'superseded']);
  });
});

describe('DeliveryRecordSchema', () => {
  const check = Compile(DeliveryRecordSchema);

  it('describes a stored record, links included', () => {
    expect(check.Check(record())).toBe(true);
    expect(check.Check(record({ series: 2, retryOf: 'dlv_0', redrivenTo: 'dlv_2' }))).toBe(true);
    for (const status of DELIVERY_STATUSES) expect(check.Check(record({ status }))).toBe(true);
  });

  it('refuses an unknown status or a malformed attempt', () => {
    expect(check.Check({ ...record(), status: 'overtaken' })).toBe(false);
    expect(check.Check(record({ attempts: [{ ...attempt(1, 200), statusCode: 'ok' as never }] }))).toBe(
      false,
    );
    expect(check.Check(record({ attempts: [{ ...attempt(1, 200), error: { code: 'x' } as never }] }))).toBe(
      false,
    );
  });

  it('is published as Delivery and DeliveryState, statuses as strings', () => {
    expect(DeliveryRecordSchema).toHaveProperty('$id', 'Delivery');
    expect(DeliveryStateSchema).toHaveProperty('$id', 'DeliveryState');
    expect(DeliveryStatusSchema).toStrictEqual({ type: 'string', enum: [...DELIVERY_STATUSES] });
  });

  it('documents the fields a reader cannot guess (OpenAPI descriptions)', () => {
    const r = DeliveryRecordSchema.properties;
    const a = AttemptSchema.properties;
    const s = DeliveryStateSchema.properties;
    const described = {
      'attempt n': a.n,
      'attempt statusCode': a.statusCode,
      'attempt responseBody': a.responseBody,
      target: r.target,
      series: r.series,
      retryOf: r.retryOf,
      redrivenTo: r.redrivenTo,
      supersededBy: r.supersededBy,
      'state supersededBy': s.supersededBy,
      'state attempts': s.attempts,
      'state lastStatusCode': s.lastStatusCode,
    };
    for (const [name, schema] of Object.entries(described)) {
      expect((schema as { description?: string }).description, name).toMatch(/\w{3}/);
    }
  });
});

describe('deliveryState', () => {
  it('summarises the attempts: their count and the last status code', () => {
    const state = deliveryState(record({ attempts: [attempt(1, 500), attempt(2, 503)] }));
    expect(state).toStrictEqual({
      id: 'dlv_1',
      subscriptionId: 'sub_1',
      target: 'subscription',
      status: 'retrying',
      attempts: 2,
      lastStatusCode: 503,
      nextAttemptAt: '2025-01-01T00:02:00.000Z',
      updatedAt: '2025-01-01T00:01:00.000Z',
    });
    expect(Compile(DeliveryStateSchema).Check(state)).toBe(true);
  });

  it('takes the status code of the last attempt of many', () => {
    const three = [attempt(1, 500), attempt(2, 502), attempt(3, 200)];
    expect(deliveryState(record({ attempts: three }))).toMatchObject({ attempts: 3, lastStatusCode: 200 });
  });

  it('the state schema refuses what is not a state', () => {
    const check = Compile(DeliveryStateSchema);
    expect(check.Check({ ...deliveryState(record()), attempts: 'two' })).toBe(false);
    expect(check.Check({ ...deliveryState(record()), status: 'lost' })).toBe(false);
  });

  it('is null without attempts or without an answer', () => {
    expect(deliveryState(record({ attempts: [] }))).toMatchObject({ attempts: 0, lastStatusCode: null });
    expect(deliveryState(record())).toMatchObject({ attempts: 2, lastStatusCode: null });
  });

  it('keeps the re-drive links only when present', () => {
    const state = deliveryState(record({ series: 0, retryOf: 'dlv_0', redrivenTo: 'dlv_2' }));
    expect(state).toMatchObject({ series: 0, retryOf: 'dlv_0', redrivenTo: 'dlv_2' });
    expect(Compile(DeliveryStateSchema).Check(state)).toBe(true);
    expect(Object.keys(deliveryState(record({ series: 1 })))).not.toContain('retryOf');
    expect(Object.keys(deliveryState(record({ series: 1 })))).not.toContain('redrivenTo');
    expect(Object.keys(deliveryState(record({ retryOf: 'dlv_0' })))).not.toContain('series');
  });

  it('names the delivery that superseded it, only when there is one', () => {
    const state = deliveryState(record({ status: 'superseded', supersededBy: 'dlv_9', nextAttemptAt: null }));
    expect(state).toMatchObject({ status: 'superseded', supersededBy: 'dlv_9' });
    expect(Compile(DeliveryStateSchema).Check(state)).toBe(true);
    expect(Object.keys(deliveryState(record()))).not.toContain('supersededBy');
    expect(Compile(DeliveryStateSchema).Check({ ...state, supersededBy: 9 })).toBe(false);
  });
});
