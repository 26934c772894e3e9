// The subscriber portal (issue 19): seed 003's webhook panel, served by Hookline. Link minting
// (/v1/portal/sessions), the link exchange, server-rendered pages with form posts, a small JSON
// API for the webhook form, and the two static assets. Every call goes through the same services
// (and so the same rules) as the public API, scoped to the session's tenant.
import type { FastifyInstance } from 'fastify';
import type { Context } from '../../pipeline/context.js';
import type { Services } from '../../services/index.js';
import { createPortalService } from '../../services/portal.js';
import { createPortalSessions } from '../../services/portal-sessions.js';
import portalSessionRoutes from '../routes/portal-sessions.js';
import portalApi from './api.js';
import portalAssets from './assets.js';
import portalPages from './pages.js';

export interface PortalDeps {
  ctx: Context;
  services: Services;
}

/** Headers of every portal answer: no framing, scripts and styles from Hookline only. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export default async function portal(app: FastifyInstance, { ctx, services }: PortalDeps) {
  const sessions = createPortalSessions(ctx);
  const portalService = createPortalService(ctx);
  const publicUrl = ctx.config.PUBLIC_URL || undefined;
  await app.register(portalSessionRoutes, { sessions, publicUrl });
  await app.register(async (scope) => {
    scope.addHook('onSend', async (request, reply) => {
      if (!request.url.startsWith('/portal')) return;
      reply.header('content-security-policy', CSP);
      reply.header('x-frame-options', 'DENY');
      // Not helmet's no-referrer: with it a browser sends `Origin: null` on the portal's own form
      // posts, and the Origin check could not tell them from a sandboxed attacker's.
      reply.header('referrer-policy', 'same-origin');
      if (!request.url.startsWith('/portal/assets/')) reply.header('cache-control', 'no-store');
    });
    await scope.register(portalAssets);
    await scope.register(portalPages, { services, sessions, portal: portalService, publicUrl });
    await scope.register(portalApi, { services, sessions, portal: portalService, publicUrl });
  });
}
