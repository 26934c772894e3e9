// Routes: subscription management (SPEC §3, §4): create (optionally verified), list, read,
// replace, patch, soft delete and restore; the workflows are src/services/subscriptions.ts.
// State actions (pause, test, rotate…) live in subscription-actions.ts.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { SubProductSchema } from '../../domain/event.js';
import { HooklineError } from '../../domain/errors.js';
import { EVENT_PATTERNS, SubscriptionInputSchema } from '../../domain/subscription.js';
import { SubscriptionPatchSchema, type SubscriptionPatch } from '../../domain/subscription-patch.js';
import type { Subscription } from '../../domain/subscription.js';
import type { Services } from '../../services/index.js';
import { tenantScope } from '../plugins/auth.js';
import {
  CreatedSubscriptionSchema,
  presentSubscription,
  SubscriptionListSchema,
  SubscriptionSchema,
} from '../present.js';
import { bearerSecurity, IdParams, problemResponses, TenantQuery } from '../schemas.js';
import subscriptionActions from './subscription-actions.js';

export const isAdmin = (request: FastifyRequest) => request.principal?.kind === 'admin';

const ListQuery = Type.Object(
  {
    tenantId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'Admins: one tenant (default: all).' }),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 250, default: 50 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    event: Type.Optional(
      Type.Unsafe<string>({
        type: 'string',
        enum: [...EVENT_PATTERNS],
        description: 'Subscriptions receiving this type (or holding this pattern).',
      }),
    ),
    status: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: ['active', 'paused', 'disabled'] })),
    subProduct: Type.Optional(SubProductSchema),
    includeDeleted: Type.Boolean({
      default: false,
      description: 'Admins only: soft-deleted ones too, with deletedAt.',
    }),
  },
  { additionalProperties: false },
);

export default async function subscriptionRoutes(
  fastify: FastifyInstance,
  { services }: { services: Services },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const present = (sub: Subscription, opts: { admin?: boolean } = {}) =>
    presentSubscription(sub, { ...opts, defaults: services.subscriptionDefaults });
  const subs = services.subscriptions;
  const tags = ['subscriptions'];

  app.post(
    '/v1/subscriptions',
    {
      onRequest: app.requireScope('webhooks:create'),
      schema: {
        tags,
        operationId: 'createSubscription',
        summary: 'Create a subscription (201 with its signing secret, shown once)',
        security: bearerSecurity,
        querystring: Type.Object({
          tenantId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          verify: Type.Optional(
            Type.Boolean({ description: 'Send a signed test event first; 422 unless it gets a 2xx.' }),
          ),
        }),
        body: SubscriptionInputSchema,
        response: { 201: CreatedSubscriptionSchema, ...problemResponses(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const tenantId = tenantScope(request, undefined, true)!;
      const { subscription, signingSecret } = await subs.create(tenantId, request.body, {
        verify: request.query.verify,
      });
      return reply.status(201).send({ ...present(subscription), signingSecret });
    },
  );

  app.get(
    '/v1/subscriptions',
    {
      onRequest: app.requireScope('webhooks:read'),
      schema: {
        tags,
        operationId: 'listSubscriptions',
        summary: 'List subscriptions, oldest first, with cursor pagination and filters',
        security: bearerSecurity,
        querystring: ListQuery,
        response: { 200: SubscriptionListSchema, ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const q = request.query;
      const admin = isAdmin(request);
      if (q.includeDeleted && !admin)
        throw new HooklineError('insufficient_scope', 'includeDeleted is for the admin token only');
      const page = await subs.list({ ...q, tenantId: tenantScope(request) });
      return { data: page.data.map((s) => present(s, { admin })), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/subscriptions/:id',
    {
      onRequest: app.requireScope('webhooks:read'),
      schema: {
        tags,
        operationId: 'getSubscription',
        summary: 'A subscription (secrets masked)',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        response: { 200: SubscriptionSchema, ...problemResponses(401, 403, 404) },
      },
    },
    async (request) =>
      present(await subs.get(request.params.id, tenantScope(request)), {
        admin: isAdmin(request),
      }),
  );

  app.get(
    '/v1/subscriptions/:id/secret',
    {
      onRequest: app.requireScope('webhooks:read'),
      schema: {
        tags,
        operationId: 'getSubscriptionSecret',
        summary: 'The current signing secret (whsec_…)',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        response: {
          200: Type.Object({ signingSecret: Type.String() }),
          ...problemResponses(401, 403, 404, 409),
        },
      },
    },
    async (request) => ({
      signingSecret: await subs.signingSecret(request.params.id, tenantScope(request)),
    }),
  );

  app.put(
    '/v1/subscriptions/:id',
    {
      onRequest: app.requireScope('webhooks:update'),
      schema: {
        tags,
        operationId: 'replaceSubscription',
        summary: 'Replace every writable field (masked secrets sent back unchanged are kept)',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        body: SubscriptionInputSchema,
        response: { 200: SubscriptionSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => present(await subs.replace(request.params.id, tenantScope(request), request.body)),
  );

  app.patch(
    '/v1/subscriptions/:id',
    {
      onRequest: app.requireScope('webhooks:update'),
      schema: {
        tags,
        operationId: 'patchSubscription',
        summary: 'Change some fields (JSON Merge Patch); the result is validated like a PUT',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        body: Type.Unsafe<SubscriptionPatch>(SubscriptionPatchSchema),
        response: { 200: SubscriptionSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => present(await subs.patch(request.params.id, tenantScope(request), request.body)),
  );

  app.delete(
    '/v1/subscriptions/:id',
    {
      onRequest: app.requireScope('webhooks:delete'),
      schema: {
        tags,
        operationId: 'deleteSubscription',
        summary: 'Soft delete: kept with deletedAt, never matched again, unfinished deliveries cancelled',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        response: { 204: Type.Null({ description: 'Deleted' }), ...problemResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { subscription, cancelled } = await subs.remove(request.params.id, tenantScope(request));
      request.log.info({ subscriptionId: subscription.id, cancelled }, 'subscription deleted');
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/subscriptions/:id/restore',
    {
      onRequest: app.requireScope('webhooks:create'),
      schema: {
        tags,
        operationId: 'restoreSubscription',
        summary: 'Undo a soft delete (409 if its URL was registered again meanwhile)',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        response: { 200: SubscriptionSchema, ...problemResponses(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const sub = await subs.restore(request.params.id, tenantScope(request));
      return present(sub, { admin: isAdmin(request) });
    },
  );

  await app.register(subscriptionActions, { services });
}
