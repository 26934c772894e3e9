// Shared route schemas (TypeBox): serve validation, types and the OpenAPI document.
import Type from 'typebox';
import { DELIVERY_STATUSES } from '../store/delivery-store.js';

export const ProblemSchema = Type.Object(
  {
    status: Type.Integer(),
    title: Type.String(),
    detail: Type.String(),
    code: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', additionalProperties: true, description: 'application/problem+json' },
);

export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, Type.Ref('Problem')]));

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
export const TenantQuery = Type.Object({
  tenantId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
});

export const AttemptSchema = Type.Object({
  n: Type.Integer(),
  startedAt: Type.String(),
  durationMs: Type.Number(),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  responseHeaders: Type.Record(Type.String(), Type.String()),
  responseBody: Type.String(),
});

export const DeliverySchema = Type.Object(
  {
    id: Type.String(),
    eventId: Type.String(),
    subscriptionId: Type.String(),
    tenantId: Type.String(),
    target: Type.String(),
    status: Type.Unsafe<string>({ type: 'string', enum: [...DELIVERY_STATUSES] }),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    nextAttemptAt: Type.Union([Type.String(), Type.Null()]),
    attempts: Type.Array(AttemptSchema),
    supersededBy: Type.Optional(
      Type.String({
        description:
          'For status superseded: the delivery of a later status of the same message that succeeded first (this one was not sent).',
      }),
    ),
  },
  { $id: 'Delivery' },
);

export const bearerSecurity = [{ bearerAuth: [] }];
