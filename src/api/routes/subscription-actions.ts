// Routes: subscription actions (SPEC §4): pause, resume, send a test event, rotate the signing
// secret; the workflows are src/services/subscription-actions.ts. Registered by subscriptions.ts.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { EventTypeSchema } from '../../domain/event.js';
import type { Subscription } from '../../domain/subscription.js';
import type { Services } from '../../services/index.js';
import { DEFAULT_GRACE_SECONDS, MAX_GRACE_SECONDS } from '../../services/subscription-actions.js';
import { tenantScope } from '../plugins/auth.js';
import { presentSubscription, presentTestOutcome, SubscriptionSchema, TestResultSchema } from '../present.js';
import { bearerSecurity, IdParams, problemResponses, TenantQuery } from '../schemas.js';

export default async function subscriptionActions(
  fastify: FastifyInstance,
  { services }: { services: Services },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const present = (sub: Subscription, opts: { admin?: boolean } = {}) =>
    presentSubscription(sub, { ...opts, defaults: services.subscriptionDefaults });
  const actions = services.subscriptionActions;
  const tags = ['subscriptions'];

  const stateRoute = (operationId: string, summary: string) => ({
    onRequest: app.requireScope('webhooks:update'),
    schema: {
      tags,
      operationId,
      summary,
      security: bearerSecurity,
      params: IdParams,
      querystring: TenantQuery,
      response: { 200: SubscriptionSchema, ...problemResponses(401, 403, 404) },
    },
  });

  app.post(
    '/v1/subscriptions/:id/pause',
    stateRoute('pauseSubscription', 'Pause: deliveries wait (no attempt spent) until resume'),
    async (request) =>
      present(await actions.pause((request.params as { id: string }).id, tenantScope(request))),
  );

  app.post(
    '/v1/subscriptions/:id/resume',
    stateRoute(
      'resumeSubscription',
      'Resume a paused or disabled subscription; held deliveries are sent at once',
    ),
    async (request) =>
      present(await actions.resume((request.params as { id: string }).id, tenantScope(request))),
  );

  app.post(
    '/v1/subscriptions/:id/test',
    {
      onRequest: app.requireScope('webhooks:update'),
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags,
        operationId: 'testSubscription',
        summary: 'Send one sample event now, with the subscription’s format, auth and signature',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        body: Type.Object(
          {
            type: Type.Optional({
              ...EventTypeSchema,
              description: 'Default: a type the subscription receives.',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 200: TestResultSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { outcome, subscription, event } = await actions.test(
        request.params.id,
        tenantScope(request),
        request.body.type,
      );
      return presentTestOutcome(outcome, subscription, event);
    },
  );

  app.post(
    '/v1/subscriptions/:id/rotate-secret',
    {
      onRequest: app.requireScope('webhooks:update'),
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags,
        operationId: 'rotateSubscriptionSecret',
        summary: 'New signing secret; the previous one keeps signing beside it for the grace period',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        body: Type.Object(
          {
            gracePeriodSeconds: Type.Optional(
              Type.Integer({
                minimum: 0,
                maximum: MAX_GRACE_SECONDS,
                description: `Default ${DEFAULT_GRACE_SECONDS} (24 h); 0 drops the old secret now.`,
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            signingSecret: Type.String({ description: 'The new current secret (whsec_…).' }),
            previousSecretExpiresAt: Type.Union([Type.String(), Type.Null()]),
          }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) =>
      actions.rotateSecret(request.params.id, tenantScope(request), request.body.gracePeriodSeconds),
  );
}
