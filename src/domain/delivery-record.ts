// A delivery record (SPEC §4), written once: the TypeBox schema is the stored type and the
// OpenAPI shape of every answer that shows a record (one, a listing, a retry), whole.
import Type, { type Static } from 'typebox';

export const DELIVERY_STATUSES = [
  'pending',
  'retrying',
  'succeeded',
  'failed',
  'cancelled',
  'superseded',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const FINAL_STATUSES: ReadonlySet<DeliveryStatus> = new Set([
  'succeeded',
  'failed',
  'cancelled',
  'superseded',
]);

/**
 * Why a pending delivery waits without being sent (shown, never stored): parked over its
 * subscription's `maxInFlight`, or its subscription is paused or disabled.
 */
export const HELD_REASONS = ['in_flight_cap', 'subscription_paused', 'subscription_disabled'] as const;
export type HeldReason = (typeof HELD_REASONS)[number];

export const DeliveryStatusSchema = Type.Unsafe<DeliveryStatus>({
  type: 'string',
  enum: [...DELIVERY_STATUSES],
});

export const AttemptSchema = Type.Object({
  n: Type.Integer({ description: '1 for the first attempt of the series' }),
  startedAt: Type.String(),
  durationMs: Type.Number(),
  statusCode: Type.Union([Type.Integer(), Type.Null()], { description: 'null: no HTTP answer' }),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  responseHeaders: Type.Record(Type.String(), Type.String()),
  responseBody: Type.String({ description: 'At most 4 KB' }),
});
export type Attempt = Static<typeof AttemptSchema>;

export const DeliveryRecordSchema = Type.Object(
  {
    id: Type.String(),
    eventId: Type.String(),
    subscriptionId: Type.String(),
    tenantId: Type.String(),
    target: Type.String({
      description: '`subscription`, or `deliveryReport` (the event’s own per-message destination)',
    }),
    status: DeliveryStatusSchema,
    createdAt: Type.String(),
    updatedAt: Type.String(),
    nextAttemptAt: Type.Union([Type.String(), Type.Null()]),
    attempts: Type.Array(AttemptSchema),
    series: Type.Optional(
      Type.Integer({ description: 'n for the n-th re-drive (retry, recover, replay); absent for the first' }),
    ),
    retryOf: Type.Optional(Type.String({ description: 'The delivery this one re-drives' })),
    redrivenTo: Type.Optional(Type.String({ description: 'The delivery that re-drove this one' })),
    supersededBy: Type.Optional(
      Type.String({
        description:
          'For status superseded: the delivery of a later status of the same message that succeeded first (this one was not sent).',
      }),
    ),
    heldReason: Type.Optional(
      Type.Unsafe<HeldReason>({
        type: 'string',
        enum: [...HELD_REASONS],
        description:
          'For status pending: why it waits. in_flight_cap: parked over its subscription’s maxInFlight (released in arrival order as requests finish); subscription_paused / subscription_disabled: until resume. No attempt is spent.',
      }),
    ),
  },
  { $id: 'Delivery' },
);
export type DeliveryRecord = Static<typeof DeliveryRecordSchema>;

const p = DeliveryRecordSchema.properties;

/** What an event's answer shows of each of its deliveries: the record without attempt details. */
export const DeliveryStateSchema = Type.Object(
  {
    id: p.id,
    subscriptionId: p.subscriptionId,
    target: p.target,
    status: p.status,
    attempts: Type.Integer({ description: 'Attempts made' }),
    lastStatusCode: Type.Union([Type.Integer(), Type.Null()], { description: 'Of the last attempt' }),
    nextAttemptAt: p.nextAttemptAt,
    updatedAt: p.updatedAt,
    series: p.series,
    retryOf: p.retryOf,
    redrivenTo: p.redrivenTo,
    supersededBy: p.supersededBy,
  },
  { $id: 'DeliveryState' },
);
export type DeliveryState = Static<typeof DeliveryStateSchema>;

export function deliveryState(r: DeliveryRecord): DeliveryState {
  return {
    id: r.id,
    subscriptionId: r.subscriptionId,
    target: r.target,
    status: r.status,
    attempts: r.attempts.length,
    lastStatusCode: r.attempts.at(-1)?.statusCode ?? null,
    nextAttemptAt: r.nextAttemptAt,
    updatedAt: r.updatedAt,
    ...(r.series !== undefined ? { series: r.series } : {}),
    ...(r.retryOf !== undefined ? { retryOf: r.retryOf } : {}),
    ...(r.supersededBy !== undefined ? { supersededBy: r.supersededBy } : {}),
    ...(r.redrivenTo !== undefined ? { redrivenTo: r.redrivenTo } : {}),
  };
}
