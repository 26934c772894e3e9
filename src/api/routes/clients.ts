// API clients and access tokens (SPEC §4): the admin creates clients; clients trade their
// credentials for short-lived bearer tokens (RFC 6749 client_credentials, JSON or form).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Services } from '../../services/index.js';
import { SCOPES, type Scope } from '../plugins/auth.js';
import { bearerSecurity, noSecurity, problemResponses } from '../schemas.js';

const ScopeSchema = Type.Unsafe<Scope>({ type: 'string', enum: [...SCOPES] });

const ClientInput = Type.Object(
  {
    tenantId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'Omit for a platform client.' }),
    ),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: SCOPES.length, uniqueItems: true }),
  },
  { additionalProperties: false },
);

const CreatedClient = Type.Object({
  clientId: Type.String(),
  clientSecret: Type.String({ description: 'Shown once; only a hash is kept.' }),
  tenantId: Type.Union([Type.String(), Type.Null()]),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: Type.String(),
});

// RFC 6749 §3.2: unrecognised parameters are ignored, so this body is open.
const TokenRequest = Type.Object(
  {
    grant_type: Type.Optional(Type.String({ maxLength: 64 })),
    client_id: Type.Optional(Type.String({ maxLength: 256 })),
    client_secret: Type.Optional(Type.String({ maxLength: 512 })),
    scope: Type.Optional(Type.String({ maxLength: 1024, description: 'Space-separated (RFC 6749).' })),
    scopes: Type.Optional(
      Type.Union([
        Type.String({ maxLength: 1024 }),
        Type.Array(Type.String({ maxLength: 64 }), { maxItems: 20 }),
      ]),
    ),
  },
  { additionalProperties: true },
);

const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  scope: Type.String(),
});

const OAuthError = Type.Object({ error: Type.String(), error_description: Type.Optional(Type.String()) });

function oauthError(reply: FastifyReply, status: number, error: string, description?: string) {
  reply.header('cache-control', 'no-store');
  return reply.status(status).send({ error, ...(description ? { error_description: description } : {}) });
}

/** RFC 6749 §2.3.1: HTTP Basic with form-encoded id and secret. */
function basicCredentials(request: FastifyRequest): { id: string; secret: string } | undefined {
  const m = /^Basic\s+(.+)$/i.exec(request.headers.authorization ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!.trim(), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return { id: '', secret: '' };
  const unform = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return { id: unform(decoded.slice(0, i)), secret: unform(decoded.slice(i + 1)) };
}

function requestedScopes(body: { scope?: string; scopes?: string | string[] }): string[] {
  const raw = [body.scope ?? '', ...(Array.isArray(body.scopes) ? body.scopes : [body.scopes ?? ''])];
  return [...new Set(raw.flatMap((s) => s.split(/\s+/)).filter(Boolean))];
}

export default async function clientsRoutes(fastify: FastifyInstance, { services }: { services: Services }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const clients = services.clients;

  // The auth plugin's array is shared with the root instance, so pushing reaches every route.
  app.tokenResolvers.push(async (token) => {
    const grant = await clients.resolveToken(token);
    if (!grant) return undefined;
    return {
      kind: 'client',
      clientId: grant.clientId,
      tenantId: grant.tenantId,
      scopes: new Set(grant.scopes as Scope[]),
    };
  });

  app.post(
    '/v1/clients',
    {
      onRequest: app.requireAdmin(),
      schema: {
        tags: ['auth'],
        operationId: 'createClient',
        summary: 'Create an API client (admin); its secret is shown once',
        security: bearerSecurity,
        body: ClientInput,
        response: { 201: CreatedClient, ...problemResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const { client, secret } = await clients.create(request.body);
      return reply.status(201).send({
        clientId: client.id,
        clientSecret: secret,
        tenantId: client.tenantId ?? null,
        name: client.name,
        scopes: client.scopes,
        createdAt: client.createdAt,
      });
    },
  );

  app.post(
    '/v1/auth/token',
    {
      // Its credentials are in its body; a source that failed too often is refused before it is read.
      config: { authenticatesItself: true },
      onRequest: app.authFailures.assertMayTry,
      attachValidation: true,
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags: ['auth'],
        operationId: 'issueToken',
        summary: 'Exchange client credentials for an access token (JSON or RFC 6749 form)',
        security: noSecurity,
        consumes: ['application/json', 'application/x-www-form-urlencoded'],
        body: TokenRequest,
        response: {
          200: TokenResponse,
          // RFC 6749 §5.2 errors are plain JSON; a body that does not parse is a problem as anywhere.
          400: {
            description:
              'RFC 6749 error (`invalid_request`, `unsupported_grant_type`, `invalid_scope`), or a body that does not parse',
            content: {
              'application/json': { schema: OAuthError },
              'application/problem+json': { schema: Type.Ref('Problem') },
            },
          },
          401: {
            description: 'RFC 6749 `invalid_client`: unknown client or wrong secret',
            content: { 'application/json': { schema: OAuthError } },
          },
          ...problemResponses(413, 415, 429),
        },
      },
    },
    async (request, reply) => {
      if (request.validationError)
        return oauthError(reply, 400, 'invalid_request', request.validationError.message);
      const body = request.body;
      const isForm = (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
      if (isForm && !body.grant_type)
        return oauthError(reply, 400, 'invalid_request', 'grant_type is required');
      if (body.grant_type !== undefined && body.grant_type !== 'client_credentials') {
        return oauthError(reply, 400, 'unsupported_grant_type', 'only client_credentials is supported');
      }
      const basic = basicCredentials(request);
      if (basic && (body.client_id !== undefined || body.client_secret !== undefined)) {
        return oauthError(reply, 400, 'invalid_request', 'use one client authentication method, not both');
      }
      const id = basic?.id ?? body.client_id ?? '';
      const secret = basic?.secret ?? body.client_secret ?? '';
      const client = id && secret ? await clients.authenticate(id, secret) : undefined;
      if (!client) {
        await app.authFailures.record(request);
        if (basic) reply.header('www-authenticate', 'Basic realm="hookline"');
        return oauthError(reply, 401, 'invalid_client', 'unknown client or wrong secret');
      }
      const wanted = requestedScopes(body);
      const extra = wanted.filter((s) => !client.scopes.includes(s));
      if (extra.length > 0)
        return oauthError(reply, 400, 'invalid_scope', `not granted to this client: ${extra.join(' ')}`);
      const scopes = wanted.length > 0 ? wanted : client.scopes;
      const token = await clients.issueToken({ clientId: client.id, tenantId: client.tenantId, scopes });
      reply.header('cache-control', 'no-store');
      return {
        access_token: token.accessToken,
        token_type: 'Bearer' as const,
        expires_in: token.expiresIn,
        scope: scopes.join(' '),
      };
    },
  );
}
