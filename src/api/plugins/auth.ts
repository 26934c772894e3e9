// Who is calling: the admin token (every right on every tenant) or a client token with scopes
// and a tenant. Routes declare the scope they need with `onRequest: app.requireScope(...)`.
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { safeEqual } from '../../crypto.js';
import { HooklineError, validationError } from '../../domain/errors.js';
import { withProblemResponses } from '../schemas.js';

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
    /** The route's onRequest hook: authenticates (401), then checks `scope` (403). */
    requireScope(scope: Scope): onRequestAsyncHookHandler;
    /** Only the admin token passes (client management). */
    requireAdmin(): onRequestAsyncHookHandler;
    tokenResolvers: TokenResolver[];
  }
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** A /v1 route that takes its credentials in its body (the token endpoint): no bearer check. */
    authenticatesItself?: boolean;
  }
}

const ALL_SCOPES: ReadonlySet<Scope> = new Set(SCOPES);
export const ADMIN: Principal = Object.freeze({ kind: 'admin', scopes: ALL_SCOPES });

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
/** True for the admin token and platform clients (no tenant of their own). */
export const isPlatformCaller = (request: FastifyRequest): boolean => !request.principal?.tenantId;

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
    /** Each hook made here, with what it requires (a scope or `admin`). */
    const authHooks = new WeakMap<object, string>();

    async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<Principal> {
      // Nothing presented costs nothing to refuse, so it does not count as a failure.
      if (!request.headers.authorization)
        throw new HooklineError('unauthorized', 'a bearer token is required');
      await app.authFailures.assertMayTry(request, reply);
      const token = bearerToken(request);
      let principal: Principal | undefined;
      if (token && safeEqual(token, opts.adminToken)) principal = ADMIN;
      for (const resolve of app.tokenResolvers) {
        if (principal || !token) break;
        principal = await resolve(token);
      }
      if (!principal) {
        await app.authFailures.record(request);
        throw new HooklineError('unauthorized', 'the token is invalid or expired');
      }
      return principal;
    }

    function authHook(requires: string, allowed: (p: Principal) => boolean): onRequestAsyncHookHandler {
      const hook: onRequestAsyncHookHandler = async (request, reply) => {
        const principal = await authenticate(request, reply);
        if (!allowed(principal)) {
          const detail =
            requires === 'admin'
              ? 'this route needs the admin token'
              : `this route needs the ${requires} scope`;
          throw new HooklineError(
            'insufficient_scope',
            detail,
            undefined,
            requires === 'admin' ? undefined : { requiredScope: requires },
          );
        }
        request.principal = principal;
      };
      authHooks.set(hook, requires);
      return hook;
    }
    app.decorate('requireScope', (scope: Scope) => authHook(scope, (p) => p.scopes.has(scope)));
    app.decorate('requireAdmin', () => authHook('admin', (p) => p.kind === 'admin'));

    // SPEC §9: a /v1 route answers 401 and 403 before it parses or validates anything, so its
    // first onRequest hook (before the body is read) must be one of the above. A route that
    // forgets stops the app at start; the scope it needs is written into its OpenAPI operation,
    // with the 401 and 403 problems its hook answers.
    app.addHook('onRoute', (route) => {
      if (!route.url.startsWith('/v1/') || route.config?.authenticatesItself) return;
      const first = [route.onRequest ?? []].flat()[0];
      const requires = first ? authHooks.get(first) : undefined;
      if (!requires)
        throw new Error(
          `${String(route.method)} ${route.url}: a /v1 route authenticates first, in onRequest (onRequest: app.requireScope(...))`,
        );
      if (route.schema)
        route.schema = withProblemResponses(
          { ...route.schema, security: [{ bearerAuth: [requires] }] },
          [401, 403],
        );
    });
  },
  { name: 'auth', dependencies: ['rate-limits'] },
);
