// Publishing events and reading what became of them (SPEC §2, §4).
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import {
  EventInputSchema,
  eventRuleErrors,
  normalizeEvent,
  type EventInput,
  type HooklineEvent,
} from '../../domain/event.js';
import { deliveryState } from '../../domain/delivery-record.js';
import { HooklineError, notFound, validationError, type FieldError } from '../../domain/errors.js';
import { deliveryReportUrlErrors } from '../../delivery/security.js';
import type { Context } from '../../pipeline/context.js';
import { isPlatformCaller, tenantScope } from '../plugins/auth.js';
import { presentEvent } from '../present.js';
import { deliveryVisibleTo } from '../present.js';
import { bearerSecurity, IdParams, problemResponses, TenantQuery } from '../schemas.js';

export const MAX_BATCH = 500;
/** SPEC §7: 256 KB per event, in a batch as much as alone. */
export const MAX_EVENT_BYTES = 256 * 1024;

const PublishResult = Type.Object({ id: Type.String(), duplicate: Type.Boolean() });

export default async function eventRoutes(fastify: FastifyInstance, { ctx }: { ctx: Context }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  /** A tenant client publishes for its own tenant only; the URL checks run before queueing. */
  async function accept(
    request: Parameters<typeof tenantScope>[0],
    inputs: EventInput[],
    base: (i: number) => string,
  ): Promise<HooklineEvent[]> {
    const tooLarge = inputs
      .map((e, i) => ({ size: Buffer.byteLength(JSON.stringify(e)), path: base(i) || '/' }))
      .filter((e) => e.size > MAX_EVENT_BYTES)
      .map((e) => ({
        path: e.path,
        message: `is ${e.size} bytes; the limit is ${MAX_EVENT_BYTES} per event`,
      }));
    if (tooLarge.length > 0)
      throw new HooklineError('payload_too_large', 'an event is larger than 256 KB', tooLarge);
    const errors: FieldError[] = [];
    const own = request.principal?.tenantId;
    const now = Date.now();
    inputs.forEach((e, i) => {
      errors.push(...eventRuleErrors(e, base(i)));
      if (own && e.tenantId !== own)
        errors.push({ path: `${base(i)}/tenantId`, message: 'must be the tenant of your client' });
    });
    errors.push(
      ...(await deliveryReportUrlErrors(inputs, base, {
        allowHttp: ctx.config.ALLOW_HTTP_WEBHOOKS,
        guard: ctx.urlGuard,
      })),
    );
    if (errors.length > 0) throw validationError(errors);
    return inputs.map((e) => normalizeEvent(e, now));
  }

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
      const [event] = await accept(request, [request.body], () => '');
      const [result] = await ctx.publisher.enqueue([event!]);
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
      const events = await accept(request, request.body.events, (i) => `/events/${i}`);
      const results = await ctx.publisher.enqueue(events);
      return reply.status(202).send({ results });
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
      const tenant = tenantScope(request, undefined, true)!;
      const event = await ctx.deliveries.getEvent(tenant, request.params.id);
      if (!event) throw notFound('event');
      const ids = await ctx.deliveries.idsForEvent(tenant, event.id);
      const records = (await ctx.deliveries.getMany(ids)).filter((r) => r.tenantId === tenant);
      return {
        // The deliveryReport secret is shown like every other secret (SPEC §3): 4 characters then ****.
        event: presentEvent(event, ctx.box),
        deliveries: records
          .filter((r) => deliveryVisibleTo(r, tenant, isPlatformCaller(request)))
          .map(deliveryState),
      };
    },
  );
}
