// What clients see of stored objects: secrets masked (at most 4 characters, then ****), with
// the response schemas that describe it (and drop anything not described).
import Type, { type Static } from 'typebox';
import { mask, type SecretBox } from '../crypto.js';
import type { OutboundRequest, AttemptOutcome } from '../delivery/attempt.js';
import { openReportSecret, type HooklineEvent } from '../domain/event.js';
import { subscriptionWritableProperties, type Subscription } from '../domain/subscription.js';

/** `defaults`: what a subscription gets when it sets none (services.subscriptionDefaults). */
export function presentSubscription(
  sub: Subscription,
  opts: { admin?: boolean; defaults?: { maxInFlight: number } } = {},
): SubscriptionView {
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
    ...(rest.maxInFlight === undefined && opts.defaults ? { maxInFlight: opts.defaults.maxInFlight } : {}),
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
