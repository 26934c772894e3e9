// The portal's form posts (Delete, Pause, Resume, Rotate, Recover, Retry, Sign out), each answered
// 303 back to a page. Registered by pages.ts inside its session scope: the session, CSRF and
// Origin checks and the page error handler apply.
import type { FastifyInstance } from 'fastify';
import { HooklineError } from '../../domain/errors.js';
import type { Services } from '../../services/index.js';
import type { PortalSessions } from '../../services/portal-sessions.js';
import { html } from './html.js';
import { hidden } from './schema.js';
import { clearSessionCookie, isSecure, portalTenant as tenant, requirePortalScope } from './session.js';
import { layout } from './views/layout.js';

interface Deps {
  services: Services;
  sessions: PortalSessions;
  publicUrl: string | undefined;
}

export default async function portalActions(app: FastifyInstance, { services, sessions, publicUrl }: Deps) {
  const subs = services.subscriptions;

  app.post('/portal/webhooks/:id/delete', { schema: hidden }, async (request, reply) => {
    requirePortalScope(request, 'webhooks:delete');
    const { subscription, cancelled } = await subs.remove(
      (request.params as { id: string }).id,
      tenant(request),
    );
    request.log.info({ subscriptionId: subscription.id, cancelled }, 'subscription deleted (portal)');
    return reply.redirect('/portal?done=deleted', 303);
  });

  for (const action of ['pause', 'resume'] as const) {
    app.post(`/portal/webhooks/:id/${action}`, { schema: hidden }, async (request, reply) => {
      requirePortalScope(request, 'webhooks:update');
      const sub = await services.subscriptionActions[action](
        (request.params as { id: string }).id,
        tenant(request),
      );
      return reply.redirect(`/portal/webhooks/${sub.id}?done=${action}d`, 303);
    });
  }

  app.post('/portal/webhooks/:id/rotate-secret', { schema: hidden }, async (request, reply) => {
    requirePortalScope(request, 'webhooks:update');
    const { id } = request.params as { id: string };
    // Another tenant's or a missing id is not_found here, before anything is redirected to.
    await services.subscriptionActions.rotateSecret(id, tenant(request));
    return reply.redirect(`/portal/webhooks/${id}?done=rotated`, 303);
  });

  app.post('/portal/webhooks/:id/recover', { schema: hidden }, async (request, reply) => {
    requirePortalScope(request, 'deliveries:write');
    const { id } = request.params as { id: string };
    const body = (request.body ?? {}) as { since?: string; until?: string };
    // The form's datetime-local fields are UTC (their labels say so).
    const utc = (v: string | undefined) => (v ? (/Z$|[+-]\d\d:\d\d$/.test(v) ? v : `${v}Z`) : undefined);
    const since = utc(body.since);
    if (!since) throw new HooklineError('validation_error', 'choose the start of the window');
    const result = await services.recovery.recover(id, tenant(request), { since, until: utc(body.until) });
    request.log.info({ subscriptionId: result.subscriptionId, queued: result.queued }, 'recover (portal)');
    return reply.redirect(`/portal/webhooks/${result.subscriptionId}?done=recovered`, 303);
  });

  app.post('/portal/deliveries/:id/retry', { schema: hidden }, async (request, reply) => {
    requirePortalScope(request, 'deliveries:write');
    const next = await services.recovery.retry((request.params as { id: string }).id, tenant(request), {
      platform: false,
    });
    return reply.redirect(`/portal/deliveries/${next.id}?done=retried`, 303);
  });

  app.post('/portal/logout', { schema: hidden }, async (request, reply) => {
    await sessions.end(request.portal!.id);
    clearSessionCookie(reply, isSecure(request, publicUrl));
    return reply.type('text/html; charset=utf-8').send(
      layout(
        'Signed out',
        html`<section class="card narrow">
          <h1>Signed out</h1>
          <p>You can close this tab.</p>
        </section>`,
      ).value,
    );
  });
}
