// Routes: publishing events and reading what became of them (SPEC §2, §4). Accepting is
// src/services/events.ts acceptEvents, the same validation as the exported publisher's.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { EventInputSchema } from '../../domain/event.js';
import { deliveryState } from '../../domain/delivery-record.js';
import { HooklineError } from '../../domain/errors.js';
import type { Context } from '../../pipeline/context.js';
import type { Services } from '../../services/index.js';
import { isPlatformCaller, tenantScope } from '../plugins/auth.js';
import { presentEvent } from '../present.js';
import { bearerSecurity, IdParams, problemResponses, TenantQuery } from '../schemas.js';
import { underTraceparent } from '../../telemetry/spans.js';

export const MAX_BATCH = 500;
/** SPEC §7: 256 KB per event, in a batch as much as alone. */
export const MAX_EVENT_BYTES = 256 * 1024;

const PublishResult = Type.Object({ id: Type.String(), duplicate: Type.Boolean() });

const EventTime = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Integer({ minimum: 0 })], {
  description: 'RFC 3339 date-time or epoch milliseconds',
});

/** SPEC §7: each event of a body is held to MAX_EVENT_BYTES, in a batch as much as alone. */
function checkSizes(inputs: unknown[], at: (i: number) => string): void {
  const tooLarge = inputs
    .map((e, i) => ({ size: Buffer.byteLength(JSON.stringify(e)), path: at(i) || '/' }))
    .filter((e) => e.size > MAX_EVENT_BYTES)
    .map((e) => ({
      path: e.path,
      message: `is ${e.size} bytes; the limit is ${MAX_EVENT_BYTES} per event`,
    }));
  if (tooLarge.length > 0)
    throw new HooklineError('payload_too_large', 'an event is larger than 256 KB', tooLarge);
}

/** A tenant client publishes for its own tenant only; admin and platform clients for any. */
const ownTenant = (request: FastifyRequest) => request.principal?.tenantId;

export default async function eventRoutes(
  fastify: FastifyInstance,
  { ctx, services }: { ctx: Context; services: Services },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const events = services.events;

  app.post(
    '/v1/events',
    {
      onRequest: app.requireScope('events:publish'),
      bodyLimit: MAX_EVENT_BYTES,
      schema: {
        tags: ['events'],
        operationId: 'publishEvent',
        summary: 'Publish one event',
        security: bearerSecurity,
        body: EventInputSchema,
        response: { 202: PublishResult, ...problemResponses(400, 401, 403, 413, 503) },
      },
    },
    async (request, reply) => {
      const at = () => '';
      checkSizes([request.body], at);
      // A traced producer's traceparent: the event's trace continues the producer's (tracing on).
      const [result] = await underTraceparent(request.headers.traceparent, () =>
        events.acceptEvents([request.body], { tenant: ownTenant(request), at }),
      );
      return reply.status(202).send(result);
    },
  );

  app.post(
    '/v1/events/batch',
    {
      onRequest: app.requireScope('events:publish'),
      // Each event is still held to MAX_EVENT_BYTES; the whole batch to a sane total.
      bodyLimit: 10 * 1024 * 1024,
      // A bare array is accepted as well as {events: [...]}.
      preValidation: async (request) => {
        if (Array.isArray(request.body)) request.body = { events: request.body };
      },
      schema: {
        tags: ['events'],
        operationId: 'publishEventBatch',
        summary: `Publish up to ${MAX_BATCH} events; nothing is queued if any is invalid`,
        security: bearerSecurity,
        body: Type.Object(
          { events: Type.Array(EventInputSchema, { minItems: 1, maxItems: MAX_BATCH }) },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({ results: Type.Array(PublishResult) }),
          ...problemResponses(400, 401, 403, 413, 503),
        },
      },
    },
    async (request, reply) => {
      const at = (i: number) => `/events/${i}`;
      checkSizes(request.body.events, at);
      const results = await underTraceparent(request.headers.traceparent, () =>
        events.acceptEvents(request.body.events, { tenant: ownTenant(request), at }),
      );
      return reply.status(202).send({ results });
    },
  );

  app.get(
    '/v1/events',
    {
      onRequest: app.requireScope('deliveries:read'),
      schema: {
        tags: ['events'],
        operationId: 'listEvents',
        summary: 'A tenant’s events, newest first, filtered',
        description:
          'Filters combine (AND); since and until bound the time the event was accepted, both ends included. On the Redis history (no DATABASE_URL) only messageId is served (400 unsupported_filter otherwise).',
        security: bearerSecurity,
        querystring: Type.Object(
          {
            tenantId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            messageId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            type: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            since: Type.Optional(EventTime),
            until: Type.Optional(EventTime),
            limit: Type.Integer({ minimum: 1, maximum: 250, default: 50 }),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            data: Type.Array(
              Type.Object({}, { additionalProperties: true, description: 'An event as accepted' }),
            ),
            nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
          }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const { tenantId: _tenant, ...query } = request.query;
      const page = await events.listEvents(tenantScope(request, undefined, true)!, query);
      return { data: page.data.map((e) => presentEvent(e, ctx.box)), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/events/:id',
    {
      onRequest: app.requireScope('deliveries:read'),
      schema: {
        tags: ['events'],
        operationId: 'getEvent',
        summary: 'An event and the state of each of its deliveries',
        description: 'Event ids are per tenant: admin and platform callers name it with ?tenantId=.',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        response: {
          200: Type.Object({
            event: Type.Object({}, { additionalProperties: true, description: 'The event as accepted' }),
            deliveries: Type.Array(Type.Ref('DeliveryState')),
          }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const { event, deliveries } = await events.getEvent(
        tenantScope(request, undefined, true)!,
        request.params.id,
        { platform: isPlatformCaller(request) },
      );
      return {
        // The deliveryReport secret is shown like every other secret (SPEC §3): 4 characters then ****.
        event: presentEvent(event, ctx.box),
        deliveries: deliveries.map(deliveryState),
      };
    },
  );
}
