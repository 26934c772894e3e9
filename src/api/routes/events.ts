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
import { HooklineError, notFound, validationError, type FieldError } from '../../domain/errors.js';
import { deliveryReportUrlErrors } from '../../delivery/security.js';
import type { Context } from '../../context.js';
import { mask } from '../../crypto.js';
import { tenantScope } from '../plugins/auth.js';
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
      preHandler: app.requireScope('events:publish'),
      bodyLimit: MAX_EVENT_BYTES,
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
      // Each event is still held to MAX_EVENT_BYTES; the whole batch to a sane total.
      bodyLimit: 10 * 1024 * 1024,
      // A bare array is accepted as well as {events: [...]}.
      preValidation: async (request) => {
        if (Array.isArray(request.body)) request.body = { events: request.body };
      },
      schema: {
        tags: ['events'],
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
      const event = await ctx.deliveries.getEvent(request.params.id);
      if (!event) throw notFound('event');
      const tenant = tenantScope(request);
      if (tenant !== undefined && event.tenantId !== tenant) throw notFound('event');
      const ids = await ctx.deliveries.idsForEvent(event.id);
      const records = await ctx.deliveries.getMany(ids);
      const report = event.deliveryReport;
      return {
        // The deliveryReport secret is shown like every other secret (SPEC §3): 4 characters then ****.
        event: report?.webhookSecret
          ? {
              ...event,
              deliveryReport: { ...report, webhookSecret: mask(ctx.box.open(report.webhookSecret)) },
            }
          : event,
        deliveries: records
          .filter((r) => deliveryVisibleTo(r, tenant))
          .map((r) => ({
            id: r.id,
            subscriptionId: r.subscriptionId,
            target: r.target,
            status: r.status,
            ...(r.supersededBy ? { supersededBy: r.supersededBy } : {}),
            attempts: r.attempts.length,
            lastStatusCode: r.attempts.at(-1)?.statusCode ?? null,
            nextAttemptAt: r.nextAttemptAt,
            updatedAt: r.updatedAt,
          })),
      };
    },
  );
}
