// Route: POST /v1/portal/sessions (issue 19): a platform (admin, a platform client naming a
// tenant) or a tenant client (its own tenant) mints a one-time link to the subscriber portal.
// The session the link starts carries the caller's scopes; the workflow is services/portal-sessions.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { HooklineError, validationError } from '../../domain/errors.js';
import { PORTAL_TTL, type PortalSessions } from '../../services/portal-sessions.js';
import { bearerSecurity, problemResponses } from '../schemas.js';

/** Where links point: PUBLIC_URL when set, else the origin this request reached. */
export function publicBase(request: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/\/+$/, '');
  return `${request.protocol}://${request.host}`;
}

export default async function portalSessionRoutes(
  fastify: FastifyInstance,
  { sessions, publicUrl }: { sessions: PortalSessions; publicUrl: string | undefined },
) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/v1/portal/sessions',
    {
      onRequest: app.requireScope('webhooks:read'),
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags: ['portal'],
        operationId: 'createPortalSession',
        summary: 'A one-time link to the subscriber portal for one tenant',
        description:
          'The link starts a browser session for the tenant carrying the caller’s scopes; both end after ttlSeconds. Opening it a second time shows nothing.',
        security: bearerSecurity,
        body: Type.Object(
          {
            tenantId: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 128,
                description: 'Required for the admin and platform clients; a tenant client’s own (or unset).',
              }),
            ),
            ttlSeconds: Type.Optional(
              Type.Integer({
                minimum: PORTAL_TTL.min,
                maximum: PORTAL_TTL.max,
                description: `Lifetime of the link and of the session it starts (default ${PORTAL_TTL.default}).`,
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            url: Type.String({
              description: 'Absolute, one-time: PUBLIC_URL (or this origin) /portal/start?code=…',
            }),
            expiresAt: Type.String(),
          }),
          ...problemResponses(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      const named = request.body.tenantId;
      let tenantId = principal.tenantId;
      if (tenantId && named && named !== tenantId)
        throw new HooklineError('insufficient_scope', 'a tenant client mints links for its own tenant only');
      tenantId ??= named;
      if (!tenantId)
        throw validationError([{ path: '/tenantId', message: 'is required for admin and platform callers' }]);
      const ttl = request.body.ttlSeconds ?? PORTAL_TTL.default;
      const { code, expiresAt } = await sessions.mint(tenantId, [...principal.scopes], ttl);
      request.log.info({ tenantId, ttlSeconds: ttl }, 'portal link minted');
      const url = `${publicBase(request, publicUrl)}/portal/start?code=${code}`;
      return reply.status(201).send({ url, expiresAt: new Date(expiresAt).toISOString() });
    },
  );
}
