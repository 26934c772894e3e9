// The portal's own authentication: a session cookie (HttpOnly, SameSite=Strict, Secure and
// __Host- prefixed on https) and, on every state-changing request, the session's CSRF token
// (SameSite does not stop another origin of the same site, e.g. another port) plus an Origin check.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { safeEqual } from '../../crypto.js';
import { HooklineError } from '../../domain/errors.js';
import type { PortalSession, PortalSessions } from '../../services/portal-sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    portal?: { id: string; session: PortalSession };
  }
}

export const isSecure = (request: FastifyRequest, publicUrl: string | undefined) =>
  publicUrl ? publicUrl.startsWith('https:') : request.protocol === 'https';

export const cookieName = (secure: boolean) => (secure ? '__Host-hl_portal' : 'hl_portal');

function readCookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export function setSessionCookie(reply: FastifyReply, secure: boolean, id: string, maxAgeSeconds: number) {
  const attrs = [
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ];
  reply.header('set-cookie', `${cookieName(secure)}=${id}; ${attrs.join('; ')}`);
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean) {
  reply.header(
    'set-cookie',
    `${cookieName(secure)}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`,
  );
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** Hooks that load the session (onRequest) and check CSRF and Origin (preValidation). */
export function sessionHooks(sessions: PortalSessions, publicUrl: string | undefined) {
  let publicOrigin: string | undefined;
  try {
    publicOrigin = publicUrl ? new URL(publicUrl).origin : undefined;
  } catch {
    publicOrigin = undefined; // not a URL: only the request's own origin is accepted
  }
  return {
    async onRequest(request: FastifyRequest) {
      const id = readCookie(request, cookieName(isSecure(request, publicUrl)));
      const session = id ? await sessions.get(id) : undefined;
      if (!id || !session) throw new HooklineError('unauthorized', 'no portal session, or it expired');
      request.portal = { id, session };
    },
    async preValidation(request: FastifyRequest) {
      if (SAFE_METHODS.has(request.method)) return;
      const origin = request.headers.origin;
      if (
        origin !== undefined &&
        origin !== `${request.protocol}://${request.host}` &&
        origin !== publicOrigin
      )
        throw new HooklineError('insufficient_scope', 'this request came from another site');
      const body = request.body as Record<string, unknown> | undefined;
      const sent =
        request.headers['x-csrf-token'] ?? (typeof body?._csrf === 'string' ? body._csrf : undefined);
      if (typeof sent !== 'string' || !safeEqual(sent, request.portal!.session.csrf))
        throw new HooklineError(
          'insufficient_scope',
          'the form was out of date or came from another site; reload the page',
        );
      if (body && typeof body === 'object' && '_csrf' in body) delete body._csrf;
    },
  };
}

export const portalCan = (request: FastifyRequest, scope: string) =>
  request.portal?.session.scopes.includes(scope) ?? false;

export function requirePortalScope(request: FastifyRequest, scope: string) {
  if (!portalCan(request, scope))
    throw new HooklineError('insufficient_scope', `this link does not allow that (it needs ${scope})`);
}

/** The tenant of the request's portal session (behind the session hooks). */
export const portalTenant = (request: FastifyRequest) => request.portal!.session.tenantId;
