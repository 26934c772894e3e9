// Portal pages: the link exchange, Manage Webhooks, Add/Edit, View Details, a delivery (and, in
// actions.ts, the form posts behind their buttons). Any failure shows a page:
// "link expired or not found" for a missing session or another tenant's id, never data, never 5xx.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HooklineError } from '../../domain/errors.js';
import { safeUrl } from '../../logger.js';
import type { DeliveryStatus } from '../../domain/delivery-record.js';
import type { Subscription } from '../../domain/subscription.js';
import type { Services } from '../../services/index.js';
import type { PortalService } from '../../services/portal.js';
import type { PortalSessions } from '../../services/portal-sessions.js';
import { maskRequest, presentSubscription } from '../present.js';
import type { Html } from './html.js';
import portalActions from './actions.js';
import { hidden } from './schema.js';
import {
  isSecure,
  portalCan,
  portalTenant as tenant,
  requirePortalScope,
  sessionHooks,
  setSessionCookie,
} from './session.js';
import { deliveryView } from './views/delivery.js';
import { detailsView } from './views/details.js';
import { formView } from './views/form.js';
import { goneView, refusedView, startView, type Frame } from './views/layout.js';
import { confirmDeleteView, listView } from './views/list.js';

const PAGE = 20;

/** Fixed notices a redirect may ask for (never text from the URL). */
const NOTICES: Record<string, string> = {
  created: 'Webhook saved.',
  saved: 'Changes saved.',
  deleted: 'Webhook deleted.',
  paused: 'Webhook paused: deliveries wait until you resume it.',
  resumed: 'Webhook resumed.',
  rotated: 'Signing secret rotated. The previous one keeps signing for 24 hours.',
  recovered: 'Failed deliveries of that window were queued again.',
  retried: 'Delivery queued again.',
};

interface Deps {
  services: Services;
  sessions: PortalSessions;
  portal: PortalService;
  publicUrl: string | undefined;
}

export default async function portalPages(app: FastifyInstance, deps: Deps) {
  const { services, sessions, portal, publicUrl } = deps;
  const subs = services.subscriptions;
  const hooks = sessionHooks(sessions, publicUrl);
  const view = (sub: Subscription) => presentSubscription(sub, { defaults: services.subscriptionDefaults });

  const frame = (request: FastifyRequest): Frame => {
    const s = request.portal?.session;
    return s ? { csrf: s.csrf, tenantId: s.tenantId, canCreate: s.scopes.includes('webhooks:create') } : {};
  };
  const send = (reply: FastifyReply, page: Html, status = 200) =>
    reply.status(status).type('text/html; charset=utf-8').send(page.value);
  const notice = (request: FastifyRequest) => NOTICES[(request.query as { done?: string }).done ?? ''];

  app.setErrorHandler(async (err: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    const f = frame(request);
    if (err instanceof HooklineError) {
      if (err.code === 'unauthorized') return send(reply, goneView(), 401);
      if (err.code === 'not_found') return send(reply, goneView(f), 404);
      if (err.code === 'insufficient_scope') return send(reply, refusedView(err.message, f), 403);
      if (err.status < 500) return send(reply, refusedView(err.message, f, 'That did not work'), err.status);
    } else if (err.validation || (err.statusCode && err.statusCode < 500)) {
      return send(reply, goneView(f), 404);
    }
    request.log.error({ err }, 'portal page failed');
    return send(reply, refusedView('Something went wrong on our side; try again in a moment.', f), 503);
  });

  // The link: trade the one-time code for a session. Answered 200 (not a redirect): a SameSite=Strict
  // cookie set during a cross-site navigation is not sent on that navigation's redirects, so the
  // page moves on to /portal by a navigation of its own (same-site).
  // The code is a credential until used: the request log line gets the path without it.
  const startLog = {
    req: (req: FastifyRequest) => ({
      method: req.method,
      url: safeUrl(req.url),
      host: req.host,
      remoteAddress: req.ip,
    }),
  };
  app.get('/portal/start', { schema: hidden, logSerializers: startLog }, async (request, reply) => {
    // A HEAD (link checkers, mail scanners) must not use up the one-time code.
    if (request.method === 'HEAD') return send(reply, startView());
    const code = (request.query as { code?: unknown }).code;
    const started = typeof code === 'string' ? await sessions.exchange(code) : undefined;
    if (!started) return send(reply, goneView(), 404);
    const secure = isSecure(request, publicUrl);
    setSessionCookie(reply, secure, started.id, Math.ceil((started.session.expiresAt - Date.now()) / 1000));
    request.log.info({ tenantId: started.session.tenantId }, 'portal session started');
    return send(reply, startView());
  });

  await app.register(async (s) => {
    s.addHook('onRequest', hooks.onRequest);
    s.addHook('preValidation', hooks.preValidation);

    s.get('/portal', { schema: hidden }, async (request, reply) => {
      const cursor = (request.query as { cursor?: string }).cursor || undefined;
      const page = await subs.list({ tenantId: tenant(request), limit: PAGE, cursor });
      const can = {
        create: portalCan(request, 'webhooks:create'),
        update: portalCan(request, 'webhooks:update'),
        delete: portalCan(request, 'webhooks:delete'),
      };
      return send(
        reply,
        listView(
          { data: page.data.map(view), nextCursor: page.nextCursor, cursor, notice: notice(request), can },
          frame(request),
        ),
      );
    });

    s.get('/portal/webhooks/new', { schema: hidden }, async (request, reply) => {
      requirePortalScope(request, 'webhooks:create');
      return send(reply, formView(undefined, frame(request)));
    });

    s.get('/portal/webhooks/:id', { schema: hidden }, async (request, reply) => {
      const { id } = request.params as { id: string };
      const q = request.query as { status?: string; cursor?: string };
      const sub = await subs.get(id, tenant(request));
      const canRead = portalCan(request, 'deliveries:read');
      const status = q.status || undefined;
      const page = canRead
        ? await services.recovery.subscriptionDeliveries(sub.id, tenant(request), {
            status: status as DeliveryStatus | undefined,
            limit: PAGE,
            cursor: q.cursor || undefined,
          })
        : { data: [], nextCursor: null };
      return send(
        reply,
        detailsView(
          {
            sub: view(sub),
            deliveries: page.data,
            nextCursor: page.nextCursor,
            status,
            cursor: q.cursor || undefined,
            notice: notice(request),
            can: {
              update: portalCan(request, 'webhooks:update'),
              delete: portalCan(request, 'webhooks:delete'),
              deliveriesRead: canRead,
              deliveriesWrite: portalCan(request, 'deliveries:write'),
            },
          },
          frame(request),
        ),
      );
    });

    s.get('/portal/webhooks/:id/edit', { schema: hidden }, async (request, reply) => {
      requirePortalScope(request, 'webhooks:update');
      const sub = await subs.get((request.params as { id: string }).id, tenant(request));
      return send(reply, formView(view(sub), frame(request)));
    });

    s.get('/portal/webhooks/:id/delete', { schema: hidden }, async (request, reply) => {
      requirePortalScope(request, 'webhooks:delete');
      const sub = await subs.get((request.params as { id: string }).id, tenant(request));
      return send(reply, confirmDeleteView(view(sub), frame(request)));
    });

    await s.register(portalActions, { services, sessions, publicUrl });

    s.get('/portal/deliveries/:id', { schema: hidden }, async (request, reply) => {
      requirePortalScope(request, 'deliveries:read');
      const t = tenant(request);
      const d = await services.recovery.getDelivery((request.params as { id: string }).id, t, {
        platform: false,
      });
      let preview;
      try {
        const sub = await subs.get(d.subscriptionId, t);
        const { event } = await services.events.getEvent(t, d.eventId, { platform: false });
        preview = maskRequest(await portal.requestPreview(sub, event), sub);
      } catch {
        preview = undefined; // its webhook or event is gone: the attempts still show
      }
      const canRetry = portalCan(request, 'deliveries:write');
      return send(reply, deliveryView(d, preview, { canRetry, notice: notice(request) }, frame(request)));
    });

    // A stale or mistyped portal address is a page too, not the API's problem+json.
    s.get('/portal/*', { schema: hidden }, async () => {
      throw new HooklineError('not_found', 'no such portal page');
    });
  });
}
