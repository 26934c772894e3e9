// Subscription management (SPEC §3, §4): create (optionally verified), list, read, replace,
// patch, soft delete and restore. State actions (pause, test, rotate…) live in subscription-actions.ts.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { Context } from '../../pipeline/context.js';
import { isUnreadable } from '../../crypto.js';
import { attempt } from '../../delivery/attempt.js';
import { SubProductSchema } from '../../domain/event.js';
import { HooklineError, validationError } from '../../domain/errors.js';
import { coversEvent, filterErrors } from '../../domain/matching.js';
import { sampleEvent } from '../../domain/sample-event.js';
import {
  EVENT_PATTERNS,
  SubscriptionInputSchema,
  subscriptionRuleErrors,
  type Subscription,
  type SubscriptionInput,
} from '../../domain/subscription.js';
import { credentialsToResupply } from '../../domain/subscription-credentials.js';
import {
  applyPatch,
  SubscriptionPatchSchema,
  type SubscriptionPatch,
} from '../../domain/subscription-patch.js';
import { cancelPending } from '../../pipeline/cancel.js';
import { tenantScope } from '../plugins/auth.js';
import { ajvFieldErrors } from '../plugins/errors.js';
import {
  CreatedSubscriptionSchema,
  isMaskedEcho,
  presentSubscription,
  SubscriptionListSchema,
  SubscriptionSchema,
  unmaskSecrets,
} from '../present.js';
import { bearerSecurity, IdParams, problemResponses, TenantQuery } from '../schemas.js';
import subscriptionActions from './subscription-actions.js';

/** A save over a stored subscription: the stored one and the request body as it came (PUT or patch). */
export interface Change {
  current: Subscription;
  sent: unknown;
}

/** The value at a JSON Pointer of plain field names (no escapes), if any. */
function at(value: unknown, path: string): unknown {
  let v = value;
  for (const key of path.split('/').slice(1)) v = (v as Record<string, unknown> | undefined)?.[key];
  return v;
}

/**
 * Every rule beyond the JSON schema, for every save (create, PUT, PATCH; portal too): URL
 * policy, cross-field rules, headers, filter shape, credentials a new address needs, SSRF.
 */
export async function checkSubscription(
  ctx: Context,
  input: SubscriptionInput,
  change?: Change,
): Promise<void> {
  const errors = subscriptionRuleErrors(input, { allowHttp: ctx.config.ALLOW_HTTP_WEBHOOKS });
  if (input.filter)
    errors.push(
      ...filterErrors(input.filter, {
        maxBytes: ctx.config.MAX_FILTER_BYTES,
        maxDepth: ctx.config.MAX_FILTER_DEPTH,
      }),
    );
  if (change) {
    // A credential counts as supplied when the request carries it, and not as a masked echo.
    for (const e of credentialsToResupply(change.current, input)) {
      const given = at(change.sent, e.path);
      if (typeof given !== 'string' || isMaskedEcho(given, at(change.current, e.path) as string | undefined))
        errors.push(e);
    }
  }
  if (errors.length === 0 && ctx.urlGuard) {
    errors.push(...(await ctx.urlGuard(input.webhookUrl, '/webhookUrl')));
    if (input.oauth2) errors.push(...(await ctx.urlGuard(input.oauth2.tokenUrl, '/oauth2/tokenUrl')));
  }
  // validationError turns a refused address into ssrf_blocked.
  if (errors.length > 0) throw validationError(errors);
}

export const isAdmin = (request: FastifyRequest) => request.principal?.kind === 'admin';

/** The subscription named in the URL, if the caller may see it; 404 otherwise (other tenants too). */
export function visibleSubscription(ctx: Context, request: FastifyRequest): Promise<Subscription> {
  return ctx.subscriptionStore.getVisible((request.params as { id: string }).id, tenantScope(request));
}

/** After a write: this process drops its cache now (others hear it on pub/sub). */
export function changed(ctx: Context, sub: Subscription): void {
  ctx.subscriptions.invalidate(sub.tenantId, sub.id);
}

const EXCERPT = 512;

/** `?verify=true`: a signed sample event must get a 2xx before anything is saved. */
async function verifyEndpoint(ctx: Context, sub: Subscription): Promise<void> {
  const outcome = await attempt({ agent: ctx.agent, tokens: ctx.tokens }, sub, sampleEvent(sub));
  if (outcome.ok) return;
  const why =
    outcome.statusCode !== null ? `answered ${outcome.statusCode}` : `failed: ${outcome.error!.code}`;
  throw new HooklineError(
    'verification_failed',
    `the endpoint ${why}; nothing was saved`,
    [{ path: '/webhookUrl', message: why }],
    {
      receiverStatus: outcome.statusCode,
      receiverBody: outcome.responseBody.slice(0, EXCERPT),
      ...(outcome.error ? { error: { code: outcome.error.code, message: outcome.error.message } } : {}),
    },
  );
}

const subProductLocked = (current: Subscription) =>
  validationError([
    { path: '/subProduct', message: `cannot change after creation (it is ${current.subProduct ?? 'unset'})` },
  ]);

const ListQuery = Type.Object(
  {
    tenantId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'Admins: one tenant (default: all).' }),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 250, default: 50 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    event: Type.Optional(
      Type.Unsafe<string>({
        type: 'string',
        enum: [...EVENT_PATTERNS],
        description: 'Subscriptions receiving this type (or holding this pattern).',
      }),
    ),
    status: Type.Optional(Type.Unsafe<string>({ type: 'string', enum: ['active', 'paused', 'disabled'] })),
    subProduct: Type.Optional(SubProductSchema),
    includeDeleted: Type.Boolean({
      default: false,
      description: 'Admins only: soft-deleted ones too, with deletedAt.',
    }),
  },
  { additionalProperties: false },
);

export default async function subscriptionRoutes(fastify: FastifyInstance, { ctx }: { ctx: Context }) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const store = ctx.subscriptionStore;
  const tags = ['subscriptions'];

  /**
   * Saves a PUT or merged PATCH (`sent`: the request body as it came); a changed auth setting
   * also drops the cached OAuth token.
   */
  async function replace(current: Subscription, body: SubscriptionInput, sent: unknown) {
    const input = unmaskSecrets(body, current);
    await checkSubscription(ctx, input, { current, sent });
    const next = await store.update(current, input);
    changed(ctx, next);
    if (next.authVersion !== current.authVersion) await ctx.tokens?.invalidate(next.id);
    return presentSubscription(next);
  }

  app.post(
    '/v1/subscriptions',
    {
      onRequest: app.requireScope('webhooks:create'),
      schema: {
        tags,
        operationId: 'createSubscription',
        summary: 'Create a subscription (201 with its signing secret, shown once)',
        security: bearerSecurity,
        querystring: Type.Object({
          tenantId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          verify: Type.Optional(
            Type.Boolean({ description: 'Send a signed test event first; 422 unless it gets a 2xx.' }),
          ),
        }),
        body: SubscriptionInputSchema,
        response: { 201: CreatedSubscriptionSchema, ...problemResponses(400, 401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const tenantId = tenantScope(request, undefined, true)!;
      await checkSubscription(ctx, request.body);
      const sub = store.build(tenantId, request.body);
      if (request.query.verify) await verifyEndpoint(ctx, sub);
      await store.insert(sub);
      changed(ctx, sub);
      return reply
        .status(201)
        .send({ ...presentSubscription(sub), signingSecret: sub.signingSecrets[0]!.secret });
    },
  );

  app.get(
    '/v1/subscriptions',
    {
      onRequest: app.requireScope('webhooks:read'),
      schema: {
        tags,
        operationId: 'listSubscriptions',
        summary: 'List subscriptions, oldest first, with cursor pagination and filters',
        security: bearerSecurity,
        querystring: ListQuery,
        response: { 200: SubscriptionListSchema, ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const q = request.query;
      const admin = isAdmin(request);
      if (q.includeDeleted && !admin)
        throw new HooklineError('insufficient_scope', 'includeDeleted is for the admin token only');
      const event = q.event;
      const page = await store.list({
        tenantId: tenantScope(request),
        limit: q.limit,
        cursor: q.cursor,
        includeDeleted: q.includeDeleted,
        filter: (s) =>
          (!event || s.events.includes(event) || (!event.includes('*') && coversEvent(s.events, event))) &&
          (!q.status || s.status === q.status) &&
          (!q.subProduct || s.subProduct === q.subProduct),
      });
      return { data: page.data.map((s) => presentSubscription(s, { admin })), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/subscriptions/:id',
    {
      onRequest: app.requireScope('webhooks:read'),
      schema: {
        tags,
        operationId: 'getSubscription',
        summary: 'A subscription (secrets masked)',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        response: { 200: SubscriptionSchema, ...problemResponses(401, 403, 404) },
      },
    },
    async (request) =>
      presentSubscription(await visibleSubscription(ctx, request), { admin: isAdmin(request) }),
  );

  app.get(
    '/v1/subscriptions/:id/secret',
    {
      onRequest: app.requireScope('webhooks:read'),
      schema: {
        tags,
        operationId: 'getSubscriptionSecret',
        summary: 'The current signing secret (whsec_…)',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        response: {
          200: Type.Object({ signingSecret: Type.String() }),
          ...problemResponses(401, 403, 404, 409),
        },
      },
    },
    async (request) => {
      const sub = await visibleSubscription(ctx, request);
      const current = sub.signingSecrets.find((s) => s.expiresAt === undefined) ?? sub.signingSecrets[0]!;
      if (isUnreadable(current.secret))
        throw new HooklineError(
          'conflict',
          'the signing secret cannot be decrypted (ENCRYPTION_KEY changed, or the value is damaged): rotate it',
        );
      return { signingSecret: current.secret };
    },
  );

  app.put(
    '/v1/subscriptions/:id',
    {
      onRequest: app.requireScope('webhooks:update'),
      schema: {
        tags,
        operationId: 'replaceSubscription',
        summary: 'Replace every writable field (masked secrets sent back unchanged are kept)',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        body: SubscriptionInputSchema,
        response: { 200: SubscriptionSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const current = await visibleSubscription(ctx, request);
      if (request.body.subProduct !== current.subProduct) throw subProductLocked(current);
      return replace(current, request.body, request.body);
    },
  );

  app.patch(
    '/v1/subscriptions/:id',
    {
      onRequest: app.requireScope('webhooks:update'),
      schema: {
        tags,
        operationId: 'patchSubscription',
        summary: 'Change some fields (JSON Merge Patch); the result is validated like a PUT',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        body: Type.Unsafe<SubscriptionPatch>(SubscriptionPatchSchema),
        response: { 200: SubscriptionSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const current = await visibleSubscription(ctx, request);
      const patch = request.body;
      if ('subProduct' in patch && (patch.subProduct ?? undefined) !== current.subProduct)
        throw subProductLocked(current);
      const merged = applyPatch(current, patch);
      const validate = request.compileValidationSchema(SubscriptionInputSchema);
      if (!validate(merged)) throw validationError(ajvFieldErrors(validate.errors ?? []));
      return replace(current, merged as SubscriptionInput, patch);
    },
  );

  app.delete(
    '/v1/subscriptions/:id',
    {
      onRequest: app.requireScope('webhooks:delete'),
      schema: {
        tags,
        operationId: 'deleteSubscription',
        summary: 'Soft delete: kept with deletedAt, never matched again, unfinished deliveries cancelled',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        response: { 204: Type.Null({ description: 'Deleted' }), ...problemResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const sub = await visibleSubscription(ctx, request);
      await store.softDelete(sub);
      changed(ctx, sub);
      const cancelled = await cancelPending(ctx, sub.id);
      request.log.info({ subscriptionId: sub.id, cancelled }, 'subscription deleted');
      await ctx.tokens?.invalidate(sub.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/v1/subscriptions/:id/restore',
    {
      onRequest: app.requireScope('webhooks:create'),
      schema: {
        tags,
        operationId: 'restoreSubscription',
        summary: 'Undo a soft delete (409 if its URL was registered again meanwhile)',
        security: bearerSecurity,
        params: IdParams,
        querystring: TenantQuery,
        response: { 200: SubscriptionSchema, ...problemResponses(401, 403, 404, 409) },
      },
    },
    async (request) => {
      const sub = await store.restore(request.params.id, tenantScope(request));
      changed(ctx, sub);
      return presentSubscription(sub, { admin: isAdmin(request) });
    },
  );

  await app.register(subscriptionActions, { ctx });
}
