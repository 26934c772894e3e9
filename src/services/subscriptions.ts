// Subscription workflows (SPEC §3, §4): create (optionally verified), list, read, replace,
// JSON Merge Patch, soft delete, restore. Every write drops the cached copy (this process now,
// others on pub/sub) and, when auth changed or the subscription went, its cached OAuth token.
import { Compile } from 'typebox/compile';
import { isUnreadable } from '../crypto.js';
import { attempt } from '../delivery/attempt.js';
import { HooklineError, validationError } from '../domain/errors.js';
import { coversEvent } from '../domain/matching.js';
import { sampleEvent } from '../domain/sample-event.js';
import { schemaErrorsOf } from '../domain/schema-errors.js';
import {
  SubscriptionInputSchema,
  type Subscription,
  type SubscriptionInput,
} from '../domain/subscription.js';
import { applyPatch, type SubscriptionPatch } from '../domain/subscription-patch.js';
import { cancelPending } from '../pipeline/cancel.js';
import type { Context } from '../pipeline/context.js';
import { unmaskSecrets } from './masked-echo.js';
import { checkSubscription } from './subscription-rules.js';

export type SubscriptionDeps = Pick<
  Context,
  | 'config'
  | 'urlGuard'
  | 'subscriptionStore'
  | 'subscriptions'
  | 'tokens'
  | 'agent'
  | 'redis'
  | 'keys'
  | 'deliveries'
  | 'deliveriesQueue'
>;

/** `tenant` undefined: the admin, who sees every tenant. */
export type Tenant = string | undefined;

export interface ListQuery {
  tenantId?: string;
  limit: number;
  cursor?: string;
  includeDeleted?: boolean;
  /** Subscriptions receiving this type (or holding this pattern). */
  event?: string;
  status?: string;
  subProduct?: string;
}

/** How much of the receiver's answer a failed verification quotes. */
const EXCERPT = 512;

const inputValidator = Compile(SubscriptionInputSchema);

const subProductLocked = (current: Subscription) =>
  validationError([
    { path: '/subProduct', message: `cannot change after creation (it is ${current.subProduct ?? 'unset'})` },
  ]);

export function createSubscriptionService(ctx: SubscriptionDeps) {
  const store = ctx.subscriptionStore;

  /** After a write: this process drops its cache now (others hear it on pub/sub). */
  const changed = (sub: Pick<Subscription, 'tenantId' | 'id'>) =>
    ctx.subscriptions.invalidate(sub.tenantId, sub.id);

  /** `?verify=true`: a signed sample event must get a 2xx before anything is saved. */
  async function verifyEndpoint(sub: Subscription): Promise<void> {
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

  /**
   * Saves a PUT or merged PATCH (`sent`: the request body as it came); a changed auth setting
   * also drops the cached OAuth token.
   */
  async function save(current: Subscription, body: SubscriptionInput, sent: unknown): Promise<Subscription> {
    const input = unmaskSecrets(body, current);
    await checkSubscription(ctx, input, { current, sent });
    const next = await store.update(current, input);
    changed(next);
    if (next.authVersion !== current.authVersion) await ctx.tokens?.invalidate(next.id);
    return next;
  }

  const service = {
    /** The subscription if `tenant` may see it; 404 otherwise (other tenants' too). */
    get: (id: string, tenant: Tenant): Promise<Subscription> => store.getVisible(id, tenant),

    /** Creates one for `tenantId`; with `verify`, a signed test request must get a 2xx first. */
    async create(
      tenantId: string,
      input: SubscriptionInput,
      opts: { verify?: boolean } = {},
    ): Promise<{ subscription: Subscription; signingSecret: string }> {
      await checkSubscription(ctx, input);
      const sub = store.build(tenantId, input);
      if (opts.verify) await verifyEndpoint(sub);
      await store.insert(sub);
      changed(sub);
      return { subscription: sub, signingSecret: sub.signingSecrets[0]!.secret };
    },

    /** Oldest first, cursor paginated, filtered by event, status and subProduct. */
    list(q: ListQuery): Promise<{ data: Subscription[]; nextCursor: string | null }> {
      const event = q.event;
      return store.list({
        tenantId: q.tenantId,
        limit: q.limit,
        cursor: q.cursor,
        includeDeleted: q.includeDeleted ?? false,
        filter: (s) =>
          (!event || s.events.includes(event) || (!event.includes('*') && coversEvent(s.events, event))) &&
          (!q.status || s.status === q.status) &&
          (!q.subProduct || s.subProduct === q.subProduct),
      });
    },

    /** The current signing secret (whsec_…); 409 when it cannot be decrypted. */
    async signingSecret(id: string, tenant: Tenant): Promise<string> {
      const sub = await store.getVisible(id, tenant);
      const current = sub.signingSecrets.find((s) => s.expiresAt === undefined) ?? sub.signingSecrets[0]!;
      if (isUnreadable(current.secret))
        throw new HooklineError(
          'conflict',
          'the signing secret cannot be decrypted (ENCRYPTION_KEY changed, or the value is damaged): rotate it',
        );
      return current.secret;
    },

    /** PUT: every writable field; masked secrets sent back unchanged are kept. */
    async replace(id: string, tenant: Tenant, body: SubscriptionInput): Promise<Subscription> {
      const current = await store.getVisible(id, tenant);
      if (body.subProduct !== current.subProduct) throw subProductLocked(current);
      return save(current, body, body);
    },

    /**
     * PATCH: a JSON Merge Patch (RFC 7396) of the writable fields, whose result is validated
     * like a PUT body (field paths from the root of the merged subscription).
     */
    async patch(id: string, tenant: Tenant, patch: SubscriptionPatch): Promise<Subscription> {
      const current = await store.getVisible(id, tenant);
      if ('subProduct' in patch && (patch.subProduct ?? undefined) !== current.subProduct)
        throw subProductLocked(current);
      const merged = applyPatch(current, patch);
      const errors = schemaErrorsOf(inputValidator, merged);
      if (errors.length > 0) throw validationError(errors);
      return save(current, merged as SubscriptionInput, patch);
    },

    /**
     * Soft delete: kept with deletedAt, never matched again; its unfinished deliveries end
     * `cancelled` and its cached OAuth token goes.
     */
    async remove(id: string, tenant: Tenant): Promise<{ subscription: Subscription; cancelled: number }> {
      const sub = await store.getVisible(id, tenant);
      await store.softDelete(sub);
      changed(sub);
      const cancelled = await cancelPending(ctx, sub.id);
      await ctx.tokens?.invalidate(sub.id);
      return { subscription: sub, cancelled };
    },

    /** Undoes a soft delete (409 if its URL was registered again meanwhile). */
    async restore(id: string, tenant: Tenant): Promise<Subscription> {
      const sub = await store.restore(id, tenant);
      changed(sub);
      return sub;
    },
  };
  return service;
}

export type SubscriptionService = ReturnType<typeof createSubscriptionService>;
