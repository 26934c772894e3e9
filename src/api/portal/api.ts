// The portal's JSON calls (the webhook form's Save and Test Webhook, revealing the signing
// secret): the public API's body schema and services, so the same validation, SSRF guard and
// masking, answered as problem+json whose field paths the form shows beside its fields.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { HooklineError } from '../../domain/errors.js';
import { SubscriptionInputSchema } from '../../domain/subscription.js';
import type { Services } from '../../services/index.js';
import type { PortalService } from '../../services/portal.js';
import type { PortalSessions } from '../../services/portal-sessions.js';
import { presentTestOutcome } from '../present.js';
import { portalTenant as tenant, requirePortalScope, sessionHooks } from './session.js';

interface Deps {
  services: Services;
  sessions: PortalSessions;
  portal: PortalService;
  publicUrl: string | undefined;
}

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

export default async function portalApi(fastify: FastifyInstance, deps: Deps) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const hooks = sessionHooks(deps.sessions, deps.publicUrl);
  app.addHook('onRequest', hooks.onRequest);
  app.addHook('preValidation', hooks.preValidation);
  const subs = deps.services.subscriptions;

  app.post(
    '/portal/api/webhooks',
    { schema: { hide: true, body: SubscriptionInputSchema } },
    async (request, reply) => {
      requirePortalScope(request, 'webhooks:create');
      const { subscription } = await subs.create(tenant(request), request.body);
      return reply.status(201).send({ id: subscription.id });
    },
  );

  app.put(
    '/portal/api/webhooks/:id',
    { schema: { hide: true, params: IdParams, body: SubscriptionInputSchema } },
    async (request) => {
      requirePortalScope(request, 'webhooks:update');
      const sub = await subs.replace(request.params.id, tenant(request), request.body);
      return { id: sub.id };
    },
  );

  app.post(
    '/portal/api/test',
    {
      schema: {
        hide: true,
        querystring: Type.Object({ id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
        body: SubscriptionInputSchema,
      },
    },
    async (request) => {
      const { id } = request.query;
      requirePortalScope(request, id ? 'webhooks:update' : 'webhooks:create');
      const { outcome, subscription, event } = await deps.portal.testDraft(tenant(request), request.body, id);
      return presentTestOutcome(outcome, subscription, event);
    },
  );

  app.post(
    '/portal/api/webhooks/:id/secret',
    { schema: { hide: true, params: IdParams } },
    async (request) => {
      requirePortalScope(request, 'webhooks:read');
      return { signingSecret: await subs.signingSecret(request.params.id, tenant(request)) };
    },
  );

  // A stray path under /portal/api is a problem+json 404 like the API's.
  app.all('/portal/api/*', { schema: { hide: true } }, async () => {
    throw new HooklineError('not_found', 'no such portal call');
  });
}
