// Routes: finding and re-driving failures (SPEC §4): delivery listings by status, recover a
// subscription's failed deliveries of a time window, replay an event, retry one delivery. The
// workflows are src/services/recovery.ts.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { DeliveryStatusSchema } from '../../domain/delivery-record.js';
import type { Services } from '../../services/index.js';
import { isPlatformCaller, tenantScope } from '../plugins/auth.js';
import { bearerSecurity, IdParams, problemResponses, TenantQuery } from '../schemas.js';

const Time = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Integer({ minimum: 0 })], {
  description: 'RFC 3339 date-time or epoch milliseconds',
});

const ListQuery = Type.Object(
  {
    tenantId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    status: Type.Optional(DeliveryStatusSchema),
    limit: Type.Integer({ minimum: 1, maximum: 250, default: 50 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
  },
  { additionalProperties: false },
);

const DeliveryList = Type.Object({
  data: Type.Array(Type.Ref('Delivery')),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
});

export default async function recoveryRoutes(fastify: FastifyInstance, { services }: { services: Services }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const recovery = services.recovery;

  const subscriptionList = {
    onRequest: app.requireScope('deliveries:read'),
    schema: {
      tags: ['deliveries'],
      operationId: 'listSubscriptionDeliveries',
      summary: 'A subscription’s deliveries, newest first, optionally of one status',
      security: bearerSecurity,
      params: IdParams,
      querystring: ListQuery,
      response: { 200: DeliveryList, ...problemResponses(400, 401, 403, 404) },
    },
  };
  app.get('/v1/subscriptions/:id/deliveries', subscriptionList, async (request) => {
    const { status, limit, cursor } = request.query;
    return recovery.subscriptionDeliveries(request.params.id, tenantScope(request), {
      status,
      limit,
      cursor,
    });
  });

  app.get(
    '/v1/deliveries',
    {
      onRequest: app.requireScope('deliveries:read'),
      schema: {
        tags: ['deliveries'],
        operationId: 'listDeliveries',
        summary: 'A tenant’s deliveries across its subscriptions, newest first, filtered',
        description:
          'Filters combine (AND). since and until bound the delivery’s creation time, both ends included. On the Redis history (no DATABASE_URL) eventType answers 400 unsupported_filter; every other filter works on both stores.',
        security: bearerSecurity,
        querystring: Type.Object(
          {
            ...ListQuery.properties,
            subscriptionId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            eventId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            messageId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            eventType: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            since: Type.Optional(Time),
            until: Type.Optional(Time),
          },
          { additionalProperties: false },
        ),
        response: { 200: DeliveryList, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { tenantId: _tenant, ...query } = request.query;
      return recovery.tenantDeliveries(tenantScope(request, undefined, true)!, query, {
        platform: isPlatformCaller(request),
      });
    },
  );

  app.post(
    '/v1/subscriptions/:id/recover',
    {
      onRequest: app.requireScope('deliveries:write'),
      schema: {
        tags: ['deliveries'],
        operationId: 'recoverSubscriptionDeliveries',
        summary: 'Re-drive the subscription’s failed deliveries created in a time window',
        description:
          'Each failed delivery created between since and until (default: now) gets a new attempt series.',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        body: Type.Object({ since: Time, until: Type.Optional(Time) }, { additionalProperties: false }),
        response: { 202: Type.Object({ queued: Type.Integer() }), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const result = await recovery.recover(request.params.id, tenantScope(request), request.body);
      const { subscriptionId, since, until, queued } = result;
      request.log.info({ subscriptionId, since, until, queued }, 'recover');
      return reply.status(202).send({ queued });
    },
  );

  app.post(
    '/v1/events/:id/replay',
    {
      onRequest: app.requireScope('deliveries:write'),
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags: ['events'],
        operationId: 'replayEvent',
        summary: 'Deliver an event again (a new attempt series per destination)',
        description:
          'Without subscriptionIds: every destination it was delivered to. A destination whose delivery is still under way is left alone. Event ids are per tenant: admin and platform callers name it with ?tenantId=.',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        body: Type.Object(
          {
            subscriptionIds: Type.Optional(
              Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
                minItems: 1,
                maxItems: 250,
                uniqueItems: true,
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({
            queued: Type.Integer(),
            deliveries: Type.Array(
              Type.Object({
                subscriptionId: Type.String(),
                deliveryId: Type.String(),
                queued: Type.Boolean(),
              }),
            ),
          }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const result = await recovery.replay(
        tenantScope(request, undefined, true)!,
        request.params.id,
        request.body.subscriptionIds,
        { platform: isPlatformCaller(request) },
      );
      return reply.status(202).send(result);
    },
  );

  app.post(
    '/v1/deliveries/:id/retry',
    {
      onRequest: app.requireScope('deliveries:write'),
      schema: {
        tags: ['deliveries'],
        operationId: 'retryDelivery',
        summary: 'Retry a finished delivery as a new attempt series (202 with the new delivery)',
        description:
          'Retrying one that was re-driven already retries its latest re-drive. 409 while it is under way.',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        response: { 202: Type.Ref('Delivery'), ...problemResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const record = await recovery.retry(request.params.id, tenantScope(request), {
        platform: isPlatformCaller(request),
      });
      return reply.status(202).send(record);
    },
  );
}
