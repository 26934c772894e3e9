// What clients see of stored objects: secrets masked (at most 4 characters, then ****), with
// the response schemas that describe it (and drop anything not described).
import Type, { type Static } from 'typebox';
import { mask, type SecretBox } from '../crypto.js';
import type { OutboundRequest, AttemptOutcome } from '../delivery/attempt.js';
import { openReportSecret, type HooklineEvent } from '../domain/event.js';
import { OPS_TARGET } from '../pipeline/fanout.js';
import type { DeliveryRecord } from '../store/delivery-store.js';
import {
  subscriptionWritableProperties,
  type Subscription,
  type SubscriptionInput,
} from '../domain/subscription.js';

export function presentSubscription(sub: Subscription, opts: { admin?: boolean } = {}): SubscriptionView {
  const {
    signingSecrets: _signing,
    authVersion: _v,
    unreadableSecrets: _u,
    deletedAt,
    secret,
    bearer,
    basic,
    oauth2,
    customHeaders,
    ...rest
  } = sub;
  return {
    ...(rest as Omit<
      SubscriptionView,
      'secret' | 'bearer' | 'basic' | 'oauth2' | 'customHeaders' | 'deletedAt'
    >),
    ...(customHeaders
      ? { customHeaders: Object.fromEntries(Object.entries(customHeaders).map(([k, v]) => [k, mask(v)])) }
      : {}),
    // Subscriptions saved before 0.4 lack it: they drop stale statuses too.
    dropStaleStatuses: rest.dropStaleStatuses ?? true,
    ...(secret ? { secret: { headerName: secret.headerName, value: mask(secret.value) } } : {}),
    ...(bearer ? { bearer: { token: mask(bearer.token) } } : {}),
    ...(basic ? { basic: { username: basic.username, password: mask(basic.password) } } : {}),
    ...(oauth2
      ? {
          oauth2: {
            ...oauth2,
            clientSecret: mask(oauth2.clientSecret),
            ...(oauth2.refreshToken ? { refreshToken: mask(oauth2.refreshToken) } : {}),
          },
        }
      : {}),
    ...(opts.admin && deletedAt ? { deletedAt } : {}),
  };
}

/** True when `given` is what a response showed of `stored`: a masked secret sent back unchanged. */
export const isMaskedEcho = (given: string | undefined, stored: string | undefined): boolean =>
  given !== undefined && stored !== undefined && given === mask(stored);

/**
 * Whether a delivery record is shown to a caller of `tenant` (undefined: every tenant, for the
 * admin). Deliveries to the platform's OPS_WEBHOOK_URL (the platform's URL and its answers) are
 * shown to platform callers (admin, platform clients) only.
 */
export const deliveryVisibleTo = (
  record: Pick<DeliveryRecord, 'tenantId' | 'target'>,
  tenant: string | undefined,
  platform: boolean,
) => (tenant === undefined || record.tenantId === tenant) && (platform || record.target !== OPS_TARGET);

/**
 * A body that echoes a masked secret back (a GET answer sent again as a PUT or PATCH) keeps
 * the stored secret instead of saving the mask; customHeaders values match by header name.
 */
export function unmaskSecrets(input: SubscriptionInput, current: Subscription): SubscriptionInput {
  const keep = (given: string | undefined, stored: string | undefined) =>
    isMaskedEcho(given, stored) ? stored : given;
  const out = structuredClone(input);
  if (out.secret && current.secret) out.secret.value = keep(out.secret.value, current.secret.value)!;
  if (out.bearer && current.bearer) out.bearer.token = keep(out.bearer.token, current.bearer.token)!;
  if (out.basic && current.basic) out.basic.password = keep(out.basic.password, current.basic.password)!;
  if (out.oauth2 && current.oauth2) {
    out.oauth2.clientSecret = keep(out.oauth2.clientSecret, current.oauth2.clientSecret)!;
    const refresh = keep(out.oauth2.refreshToken, current.oauth2.refreshToken);
    if (refresh !== undefined) out.oauth2.refreshToken = refresh;
  }
  if (out.customHeaders && current.customHeaders) {
    for (const [name, value] of Object.entries(out.customHeaders))
      out.customHeaders[name] = keep(
        value,
        Object.hasOwn(current.customHeaders, name) ? current.customHeaders[name] : undefined,
      )!;
  }
  return out;
}

const VIEW_DOC = 'A subscription; secret fields show at most 4 characters then ****.';

export const SubscriptionSchema = Type.Object(
  {
    id: Type.String({ description: 'sub_…' }),
    tenantId: Type.String(),
    ...subscriptionWritableProperties,
    status: Type.Unsafe<'active' | 'paused' | 'disabled'>({
      type: 'string',
      enum: ['active', 'paused', 'disabled'],
    }),
    disabledReason: Type.Optional(Type.String()),
    createdAt: Type.String(),
    updatedAt: Type.String(),
    deletedAt: Type.Optional(Type.String({ description: 'Admin listings with includeDeleted=true only.' })),
  },
  { description: VIEW_DOC },
);
export type SubscriptionView = Static<typeof SubscriptionSchema>;

export const CreatedSubscriptionSchema = Type.Object(
  {
    ...SubscriptionSchema.properties,
    signingSecret: Type.String({ description: 'whsec_…, shown here once (and by GET …/:id/secret).' }),
  },
  { description: VIEW_DOC },
);

export const SubscriptionListSchema = Type.Object({
  data: Type.Array(SubscriptionSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

const StringMap = Type.Record(Type.String(), Type.String());

export const TestResultSchema = Type.Object({
  ok: Type.Boolean(),
  event: Type.Object({ id: Type.String(), type: Type.String() }),
  request: Type.Object({
    url: Type.String(),
    method: Type.String(),
    headers: StringMap,
    body: Type.Optional(Type.String()),
  }),
  response: Type.Object({
    status: Type.Union([Type.Integer(), Type.Null()]),
    headers: StringMap,
    body: Type.String(),
  }),
  durationMs: Type.Number(),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});

/** Secret values a subscription may put on the wire. */
function wireSecrets(sub: Subscription): string[] {
  return [
    sub.secret?.value,
    sub.bearer?.token,
    sub.basic?.password,
    sub.oauth2?.clientSecret,
    sub.oauth2?.refreshToken,
  ].filter((s): s is string => !!s);
}

/**
 * The request as sent, with credentials masked: auth headers, the secret header, customHeaders,
 * any secret value.
 */
export function maskRequest(req: OutboundRequest, sub: Subscription): OutboundRequest {
  const masked = new Set(
    [sub.secret?.headerName, ...Object.keys(sub.customHeaders ?? {})].map((n) => n?.toLowerCase()),
  );
  const secrets = wireSecrets(sub);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    const n = name.toLowerCase();
    const scheme = /^(Bearer|Basic)\s+(.*)$/i.exec(value);
    if (n === 'authorization' || n === 'proxy-authorization')
      headers[name] = scheme ? `${scheme[1]} ${mask(scheme[2])}` : mask(value);
    else if (masked.has(n) || secrets.some((s) => value.includes(s))) headers[name] = mask(value);
    else headers[name] = value;
  }
  return { ...req, headers };
}

export function presentTestOutcome(
  outcome: AttemptOutcome,
  sub: Subscription,
  event: { id: string; type: string },
) {
  return {
    ok: outcome.ok,
    event: { id: event.id, type: event.type },
    request: maskRequest(outcome.request, sub),
    response: { status: outcome.statusCode, headers: outcome.responseHeaders, body: outcome.responseBody },
    durationMs: outcome.durationMs,
    ...(outcome.error ? { error: { code: outcome.error.code, message: outcome.error.message } } : {}),
  };
}

/** An event as clients and Bull Board see it: its own deliveryReport secret masked like any other. */
export function presentEvent(event: HooklineEvent, box: SecretBox): HooklineEvent {
  const report = event.deliveryReport;
  if (!report?.webhookSecret) return event;
  // Opened only to be masked; one that cannot be decrypted shows as unreadable.
  return { ...event, deliveryReport: { ...report, webhookSecret: mask(openReportSecret(event, box)) } };
}
