// Who is calling: the admin token (every right on every tenant) or, later, a client token with
// scopes and a tenant. Routes declare the scope they need with `app.requireScope(...)`.
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { safeEqual } from '../../crypto.js';
import { HooklineError, validationError } from '../../domain/errors.js';

export const SCOPES = [
  'webhooks:read',
  'webhooks:create',
  'webhooks:update',
  'webhooks:delete',
  'events:publish',
  'deliveries:read',
  'deliveries:write',
] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  kind: 'admin' | 'client';
  clientId?: string;
  /** The client's tenant; undefined for the admin and for platform clients. */
  tenantId?: string;
  scopes: ReadonlySet<Scope>;
}

/** Resolves a bearer token to a principal (client tokens are plugged in by the clients plugin). */
export type TokenResolver = (token: string) => Promise<Principal | undefined>;

declare module 'fastify' {
  interface FastifyInstance {
    requireScope(scope: Scope): preHandlerAsyncHookHandler;
    /** Only the admin token passes (client management). */
    requireAdmin(): preHandlerAsyncHookHandler;
    tokenResolvers: TokenResolver[];
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

const ALL_SCOPES: ReadonlySet<Scope> = new Set(SCOPES);

export function bearerToken(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h);
  return m?.[1]?.trim();
}

/**
 * The tenant a request acts on: a tenant client's own; for the admin and platform clients the
 * one they name (`?tenantId=` or the body's tenantId). `required` makes naming one mandatory.
 */
export function tenantScope(request: FastifyRequest, named?: string, required = false): string | undefined {
  const p = request.principal!;
  if (p.tenantId) return p.tenantId;
  const fromQuery = (request.query as { tenantId?: string } | undefined)?.tenantId;
  const tenant = named ?? fromQuery;
  if (required && !tenant)
    throw validationError([
      { path: '/querystring/tenantId', message: 'is required for admin and platform callers' },
    ]);
  return tenant;
}

export default fp(
  async function authPlugin(app: FastifyInstance, opts: { adminToken: string }) {
    app.decorate('tokenResolvers', [] as TokenResolver[]);
    app.decorateRequest('principal', undefined);
    async function authenticate(request: FastifyRequest): Promise<Principal> {
      const token = bearerToken(request);
      if (!token) throw new HooklineError('unauthorized', 'a bearer token is required');
      let principal: Principal | undefined;
      if (safeEqual(token, opts.adminToken)) principal = { kind: 'admin', scopes: ALL_SCOPES };
      for (const resolve of app.tokenResolvers) {
        if (principal) break;
        principal = await resolve(token);
      }
      if (!principal) throw new HooklineError('unauthorized', 'the token is invalid or expired');
      return principal;
    }
    app.decorate('requireScope', (scope: Scope): preHandlerAsyncHookHandler => {
      return async (request) => {
        const principal = await authenticate(request);
        if (!principal.scopes.has(scope)) {
          throw new HooklineError('insufficient_scope', `this route needs the ${scope} scope`, undefined, {
            requiredScope: scope,
          });
        }
        request.principal = principal;
      };
    });
    app.decorate('requireAdmin', (): preHandlerAsyncHookHandler => {
      return async (request) => {
        const principal = await authenticate(request);
        if (principal.kind !== 'admin')
          throw new HooklineError('insufficient_scope', 'this route needs the admin token');
        request.principal = principal;
      };
    });
  },
  { name: 'auth' },
);
