// Subscription management (SPEC §3, §4): create and read. Secrets are masked in every answer.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Context } from '../../context.js';
import { validationError } from '../../domain/errors.js';
import { filterErrors } from '../../domain/matching.js';
import { SubscriptionInputSchema, subscriptionRuleErrors, type SubscriptionInput } from '../../domain/subscription.js';
import { tenantScope } from '../plugins/auth.js';
import { presentSubscription } from '../present.js';
import { bearerSecurity, IdParams, problemResponses, TenantQuery } from '../schemas.js';

/** Every rule beyond the JSON schema: URL policy, cross-field rules, filter shape, SSRF. */
export async function checkSubscription(ctx: Context, input: SubscriptionInput): Promise<void> {
  const errors = subscriptionRuleErrors(input, { allowHttp: ctx.config.ALLOW_HTTP_WEBHOOKS });
  if (input.filter) errors.push(...filterErrors(input.filter));
  if (errors.length === 0 && ctx.urlGuard) {
    errors.push(...(await ctx.urlGuard(input.webhookUrl, '/webhookUrl')));
    if (input.oauth2) errors.push(...(await ctx.urlGuard(input.oauth2.tokenUrl, '/oauth2/tokenUrl')));
  }
  if (errors.length > 0) {
    const ssrf = errors.find((e) => e.message.startsWith('ssrf_blocked'));
    const err = validationError(errors);
    if (ssrf) Object.assign(err, { code: 'ssrf_blocked' });
    throw err;
  }
}

export const isAdmin = (request: FastifyRequest) => request.principal?.kind === 'admin';

export default async function subscriptionRoutes(fastify: FastifyInstance, { ctx }: { ctx: Context }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/v1/subscriptions',
    {
      preHandler: app.requireScope('webhooks:create'),
      schema: {
        tags: ['subscriptions'],
        summary: 'Create a subscription (201 with its signing secret, shown once)',
        security: bearerSecurity,
        querystring: Type.Object({ tenantId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })), verify: Type.Optional(Type.Boolean()) }),
        body: SubscriptionInputSchema,
        response: { ...problemResponses(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const tenantId = tenantScope(request, undefined, true)!;
      await checkSubscription(ctx, request.body);
      const sub = await ctx.subscriptionStore.create(tenantId, request.body);
      ctx.subscriptions.invalidate(sub.tenantId, sub.id);
      return reply.status(201).send({ ...presentSubscription(sub), signingSecret: sub.signingSecrets[0]!.secret });
    },
  );

  app.get(
    '/v1/subscriptions/:id',
    {
      preHandler: app.requireScope('webhooks:read'),
      schema: { tags: ['subscriptions'], summary: 'A subscription (secrets masked)', security: bearerSecurity, params: IdParams, querystring: TenantQuery, response: { ...problemResponses(401, 403, 404) } },
    },
    async (request) => presentSubscription(await ctx.subscriptionStore.getVisible(request.params.id, tenantScope(request)), { admin: isAdmin(request) }),
  );

  app.get(
    '/v1/subscriptions/:id/secret',
    {
      preHandler: app.requireScope('webhooks:read'),
      schema: { tags: ['subscriptions'], summary: 'The signing secret (whsec_…)', security: bearerSecurity, params: IdParams, querystring: TenantQuery, response: { ...problemResponses(401, 403, 404) } },
    },
    async (request) => {
      const sub = await ctx.subscriptionStore.getVisible(request.params.id, tenantScope(request));
      const current = sub.signingSecrets.find((s) => s.expiresAt === undefined) ?? sub.signingSecrets[0]!;
      return { signingSecret: current.secret };
    },
  );
}
