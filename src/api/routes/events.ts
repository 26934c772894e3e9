// Publishing events and reading what became of them (SPEC §2, §4).
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { EventInputSchema, eventRuleErrors, normalizeEvent, type EventInput, type HooklineEvent } from '../../domain/event.js';
import { notFound, validationError, type FieldError } from '../../domain/errors.js';
import type { Context } from '../../context.js';
import { tenantScope } from '../plugins/auth.js';
import { bearerSecurity, IdParams, problemResponses, TenantQuery } from '../schemas.js';

export const MAX_BATCH = 500;

const PublishResult = Type.Object({ id: Type.String(), duplicate: Type.Boolean() });

export default async function eventRoutes(fastify: FastifyInstance, { ctx }: { ctx: Context }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  /** A tenant client publishes for its own tenant only; the URL checks run before queueing. */
  async function accept(request: Parameters<typeof tenantScope>[0], inputs: EventInput[], base: (i: number) => string): Promise<HooklineEvent[]> {
    const errors: FieldError[] = [];
    const own = request.principal?.tenantId;
    const now = Date.now();
    inputs.forEach((e, i) => {
      errors.push(...eventRuleErrors(e, base(i)));
      if (own && e.tenantId !== own) errors.push({ path: `${base(i)}/tenantId`, message: 'must be the tenant of your client' });
    });
    if (ctx.urlGuard) {
      for (const [i, e] of inputs.entries()) {
        if (e.deliveryReport) errors.push(...(await ctx.urlGuard(e.deliveryReport.webhookUrl, `${base(i)}/deliveryReport/webhookUrl`)));
      }
    }
    if (errors.length > 0) throw validationError(errors);
    return inputs.map((e) => normalizeEvent(e, now));
  }

  app.post(
    '/v1/events',
    {
      preHandler: app.requireScope('events:publish'),
      bodyLimit: 256 * 1024,
      schema: {
        tags: ['events'],
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
      preHandler: app.requireScope('events:publish'),
      bodyLimit: MAX_BATCH * 256 * 1024,
      // A bare array is accepted as well as {events: [...]}.
      preValidation: async (request) => {
        if (Array.isArray(request.body)) request.body = { events: request.body };
      },
      schema: {
        tags: ['events'],
        summary: `Publish up to ${MAX_BATCH} events; nothing is queued if any is invalid`,
        security: bearerSecurity,
        body: Type.Object({ events: Type.Array(EventInputSchema, { minItems: 1, maxItems: MAX_BATCH }) }, { additionalProperties: false }),
        response: { 202: Type.Object({ results: Type.Array(PublishResult) }), ...problemResponses(400, 401, 403, 413, 503) },
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
      preHandler: app.requireScope('deliveries:read'),
      schema: {
        tags: ['events'],
        summary: 'An event and the state of each of its deliveries',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        response: { ...problemResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const raw = await ctx.redis.get(ctx.keys.event(request.params.id));
      if (!raw) throw notFound('event');
      const event = JSON.parse(raw) as HooklineEvent;
      const tenant = tenantScope(request);
      if (tenant !== undefined && event.tenantId !== tenant) throw notFound('event');
      const ids = await ctx.deliveries.idsForEvent(event.id);
      const records = await ctx.deliveries.getMany(ids);
      return {
        event,
        deliveries: records.map((r) => ({
          id: r.id,
          subscriptionId: r.subscriptionId,
          target: r.target,
          status: r.status,
          attempts: r.attempts.length,
          lastStatusCode: r.attempts.at(-1)?.statusCode ?? null,
          nextAttemptAt: r.nextAttemptAt,
          updatedAt: r.updatedAt,
        })),
      };
    },
  );
}

