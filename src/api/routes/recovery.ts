// Finding and re-driving failures (SPEC §4): delivery listings by status, recover a
// subscription's failed deliveries of a time window, replay an event, retry one delivery.
// A re-drive is a new attempt series: a new delivery (new id, full retries) linked to the old
// one by `retryOf` / `redrivenTo`; the old record keeps its history.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Context } from '../../pipeline/context.js';
import type { HooklineEvent } from '../../domain/event.js';
import { HooklineError, notFound, validationError } from '../../domain/errors.js';
import {
  OPS_MAX_RETRIES,
  OPS_TARGET,
  redrive,
  REPORT_MAX_RETRIES,
  REPORT_TARGET,
  type Destination,
} from '../../pipeline/fanout.js';
import {
  DeliveryStatusSchema,
  FINAL_STATUSES,
  type DeliveryRecord,
  type DeliveryStatus,
} from '../../domain/delivery-record.js';
import { isPlatformCaller, tenantScope } from '../plugins/auth.js';
import { deliveryVisibleTo } from '../present.js';
import { bearerSecurity, IdParams, problemResponses, TenantQuery } from '../schemas.js';

/** Deliveries re-driven concurrently by one recover call. */
const PARALLEL = 20;

const Time = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Integer({ minimum: 0 })], {
  description: 'RFC 3339 date-time or epoch milliseconds',
});

const ListQuery = Type.Object(
  {
    tenantId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    status: Type.Optional(DeliveryStatusSchema),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
  },
  { additionalProperties: false },
);

const DeliveryList = Type.Object({
  data: Type.Array(Type.Ref('Delivery')),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
});

function toMs(v: string | number, path: string): number {
  const ms = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(ms))
    throw validationError([{ path, message: 'must be an RFC 3339 date-time or epoch milliseconds' }]);
  return ms;
}

export default async function recoveryRoutes(fastify: FastifyInstance, { ctx }: { ctx: Context }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { deliveries, subscriptionStore: subs } = ctx;
  const deps = {
    redis: ctx.redis,
    keys: ctx.keys,
    deliveries,
    queue: ctx.deliveriesQueue,
    onSuperseded: (count: number) => ctx.metrics.deliveriesSuperseded(count),
  };

  /** A tenant's event by id (event ids are per tenant); 404 when the tenant has none. */
  async function loadEvent(tenant: string, id: string): Promise<HooklineEvent> {
    const event = await deliveries.getEvent(tenant, id);
    if (!event) throw notFound('event');
    return event;
  }

  /**
   * Where a re-drive goes; undefined when the subscription is gone (or not the event's tenant's).
   * The platform's ops URL is re-driven by the admin only (and while it is configured).
   */
  async function destination(
    subscriptionId: string,
    event: HooklineEvent,
    platform: boolean,
  ): Promise<Destination | undefined> {
    if (subscriptionId === REPORT_TARGET) {
      return event.deliveryReport
        ? { subscriptionId, maxRetries: REPORT_MAX_RETRIES, target: 'deliveryReport' }
        : undefined;
    }
    if (subscriptionId === OPS_TARGET) {
      return platform && ctx.config.OPS_WEBHOOK_URL
        ? { subscriptionId, maxRetries: OPS_MAX_RETRIES, target: OPS_TARGET }
        : undefined;
    }
    const sub = await subs.get(subscriptionId);
    if (!sub || sub.deletedAt || sub.tenantId !== event.tenantId) return undefined;
    return { subscriptionId, maxRetries: sub.maxRetries, dropStaleStatuses: sub.dropStaleStatuses };
  }

  /**
   * Re-drives failed records of one subscription (of `tenant`); ones re-driven before whose
   * successor never got queued are healed.
   */
  async function redriveFailed(records: DeliveryRecord[], to: Destination, tenant: string): Promise<number> {
    const successors = records.filter((r) => r.redrivenTo).map((r) => r.redrivenTo!);
    const state = new Map<string, DeliveryStatus | undefined>();
    if (successors.length > 0) {
      const got = await Promise.all(successors.map((id) => deliveries.getStatus(id)));
      successors.forEach((id, i) => state.set(id, got[i]));
    }
    const todo = records.filter((r) => !r.redrivenTo || (state.get(r.redrivenTo) ?? 'pending') === 'pending');
    const eventIds = [...new Set(todo.map((r) => r.eventId))];
    const loaded = await deliveries.getEvents(eventIds.map((id) => ({ tenantId: tenant, id })));
    const events = new Map(eventIds.map((id, i) => [id, loaded[i]]));
    let queued = 0;
    for (let i = 0; i < todo.length; i += PARALLEL) {
      const results = await Promise.all(
        todo.slice(i, i + PARALLEL).map((r) => {
          const event = events.get(r.eventId);
          return event ? redrive(deps, event, to, r) : undefined;
        }),
      );
      queued += results.filter((r) => r?.created).length;
    }
    return queued;
  }

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
    const sub = await subs.getVisible(request.params.id, tenantScope(request));
    const { status, limit, cursor } = request.query;
    return deliveries.scan([ctx.keys.subDeliveries(sub.id)], { status, limit, cursor });
  });

  app.get(
    '/v1/deliveries',
    {
      onRequest: app.requireScope('deliveries:read'),
      schema: {
        tags: ['deliveries'],
        operationId: 'listDeliveries',
        summary: 'A tenant’s deliveries across its subscriptions, newest first, optionally of one status',
        security: bearerSecurity,
        querystring: Type.Object(
          {
            ...ListQuery.properties,
            subscriptionId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: DeliveryList, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const tenant = tenantScope(request, undefined, true)!;
      const { status, limit, cursor, subscriptionId } = request.query;
      const ids = subscriptionId
        ? [(await subs.getVisible(subscriptionId, tenant)).id]
        : await ctx.redis.zrange(ctx.keys.tenantSubs(tenant), '0', '-1');
      return deliveries.scan(
        ids.map((id) => ctx.keys.subDeliveries(id)),
        { status, limit, cursor },
      );
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
      const sub = await subs.getVisible(request.params.id, tenantScope(request));
      const since = toMs(request.body.since, '/since');
      const until = request.body.until === undefined ? Date.now() : toMs(request.body.until, '/until');
      if (until < since) throw validationError([{ path: '/until', message: 'must not be before since' }]);
      const index = [ctx.keys.subDeliveries(sub.id)];
      const to = {
        subscriptionId: sub.id,
        maxRetries: sub.maxRetries,
        dropStaleStatuses: sub.dropStaleStatuses,
      };
      let queued = 0;
      let cursor: string | undefined;
      do {
        const page = await deliveries.scan(index, {
          status: 'failed',
          since,
          until,
          limit: 500,
          budget: 5_000,
          cursor,
          withAttempts: false,
        });
        queued += await redriveFailed(page.data, to, sub.tenantId);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      request.log.info({ subscriptionId: sub.id, since, until, queued }, 'recover');
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
      const tenant = tenantScope(request, undefined, true)!;
      const event = await loadEvent(tenant, request.params.id);
      const records = (
        await deliveries.getMany(await deliveries.idsForEvent(tenant, event.id), false)
      ).filter((r) => r.tenantId === tenant);
      const heads = new Map<string, DeliveryRecord>();
      for (const r of records) {
        const cur = heads.get(r.subscriptionId);
        if (!cur || (r.series ?? 0) > (cur.series ?? 0)) heads.set(r.subscriptionId, r);
      }
      const named = request.body.subscriptionIds;
      const targets: [string, Destination | undefined][] = await Promise.all(
        (named ?? [...heads.keys()]).map(
          async (id) =>
            [id, await destination(id, event, isPlatformCaller(request))] as [
              string,
              Destination | undefined,
            ],
        ),
      );
      const missing = named
        ? targets.findIndex(([id, to]) => !to || id === REPORT_TARGET || id === OPS_TARGET)
        : -1;
      if (missing >= 0) throw notFound(`subscription ${named![missing]}`);
      const out: { subscriptionId: string; deliveryId: string; queued: boolean }[] = [];
      for (const [subscriptionId, to] of targets) {
        if (!to) continue;
        const head = heads.get(subscriptionId);
        if (head && !head.redrivenTo && !FINAL_STATUSES.has(head.status)) {
          out.push({ subscriptionId, deliveryId: head.id, queued: false });
          continue;
        }
        const res = await redrive(deps, event, to, head);
        out.push({ subscriptionId, deliveryId: res.id, queued: res.created });
      }
      return reply.status(202).send({ queued: out.filter((d) => d.queued).length, deliveries: out });
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
      const tenant = tenantScope(request);
      let record = await deliveries.get(request.params.id);
      if (!record || !deliveryVisibleTo(record, tenant, isPlatformCaller(request)))
        throw notFound('delivery');
      for (let hops = 0; record.redrivenTo && hops < 1_000; hops++) {
        const next = await deliveries.get(record.redrivenTo);
        if (!next) break; // its re-drive never got written: re-driving again completes it
        record = next;
      }
      if (!record.redrivenTo && !FINAL_STATUSES.has(record.status)) {
        throw new HooklineError(
          'conflict',
          `delivery ${record.id} is still under way (${record.status})`,
          undefined,
          {
            deliveryId: record.id,
          },
        );
      }
      const event = await loadEvent(record.tenantId, record.eventId);
      const to = await destination(record.subscriptionId, event, isPlatformCaller(request));
      if (!to) throw new HooklineError('conflict', 'the subscription of this delivery was deleted');
      const { id } = await redrive(deps, event, to, record);
      return reply.status(202).send((await deliveries.get(id))!);
    },
  );
}
