// Subscription actions (SPEC §4): pause, resume, send a test event, rotate the signing secret.
// Registered by subscriptions.ts, so it shares its prefix-free routes and tags.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Context } from '../../pipeline/context.js';
import { attempt } from '../../delivery/attempt.js';
import { notFound } from '../../domain/errors.js';
import { EventTypeSchema } from '../../domain/event.js';
import { sampleEvent } from '../../domain/sample-event.js';
import type { Subscription } from '../../domain/subscription.js';
import { releaseHeld } from '../../pipeline/held.js';
import { tenantScope } from '../plugins/auth.js';
import { presentSubscription, presentTestOutcome, SubscriptionSchema, TestResultSchema } from '../present.js';
import { bearerSecurity, IdParams, problemResponses, TenantQuery } from '../schemas.js';

/** Default grace period of a rotated signing secret: 24 hours. */
export const DEFAULT_GRACE_SECONDS = 86_400;
const MAX_GRACE_SECONDS = 30 * 86_400;

export default async function subscriptionActions(fastify: FastifyInstance, { ctx }: { ctx: Context }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const store = ctx.subscriptionStore;
  const tags = ['subscriptions'];
  const visible = (request: FastifyRequest) =>
    store.getVisible((request.params as { id: string }).id, tenantScope(request));

  /** Applies a state change to a live subscription and drops this process's cached copy. */
  async function setState(sub: Subscription, fn: (s: Subscription) => Subscription): Promise<Subscription> {
    const next = await store.patchState(sub.id, (s) => (s.deletedAt ? undefined : fn(s)));
    if (!next || next.deletedAt) throw notFound('subscription');
    ctx.subscriptions.invalidate(next.tenantId, next.id);
    return next;
  }

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
    async (request) => {
      const next = await setState(await visible(request), (s) => {
        const { disabledReason: _reason, ...rest } = s;
        return { ...rest, status: 'paused' };
      });
      return presentSubscription(next);
    },
  );

  app.post(
    '/v1/subscriptions/:id/resume',
    stateRoute(
      'resumeSubscription',
      'Resume a paused or disabled subscription; held deliveries are sent at once',
    ),
    async (request) => {
      const next = await setState(await visible(request), (s) => {
        const { disabledReason: _reason, ...rest } = s;
        return { ...rest, status: 'active' };
      });
      await releaseHeld(ctx, next.id);
      return presentSubscription(next);
    },
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
      const sub = await visible(request);
      const event = sampleEvent(sub, request.body.type);
      const outcome = await attempt({ agent: ctx.agent, tokens: ctx.tokens }, sub, event);
      return presentTestOutcome(outcome, sub, event);
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
    async (request) => {
      const sub = await visible(request);
      const graceMs = (request.body.gracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
      const next = await store.rotateSecret(sub.id, graceMs);
      if (!next) throw notFound('subscription');
      ctx.subscriptions.invalidate(next.tenantId, next.id);
      const previous = next.signingSecrets[1];
      return {
        signingSecret: next.signingSecrets[0]!.secret,
        previousSecretExpiresAt:
          graceMs > 0 && previous?.expiresAt ? new Date(previous.expiresAt).toISOString() : null,
      };
    },
  );
}
