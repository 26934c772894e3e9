// Subscriptions (SPEC §3): the writable schema, the stored shape, and the rules beyond the schema.
import Type, { type Static, type TOptional, type TString } from 'typebox';
import {
  ChannelSchema,
  EVENT_TYPES,
  OPERATIONAL_EVENT_TYPES,
  SubProductSchema,
  type Channel,
  type SubProduct,
} from './event.js';
import { fieldPath, type FieldError } from './errors.js';
import { DEFAULT_SECRET_HEADER, headerRuleErrors } from './subscription-headers.js';
import { isXmlName } from './xml-name.js';

export { DEFAULT_SECRET_HEADER } from './subscription-headers.js';

export const EVENT_PATTERNS = [
  ...EVENT_TYPES,
  ...OPERATIONAL_EVENT_TYPES,
  'message.*',
  'auth.*',
  'subscription.*',
  'delivery.*',
  '*',
] as const;
export const FORMATS = ['native', 'otpless', 'otpiq', 'meta', 'params'] as const;
export type Format = (typeof FORMATS)[number];
export const AUTH_TYPES = ['none', 'secret', 'bearer', 'basic', 'oauth2'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];
export const PARAM_FIELDS = [
  'transactionId',
  'messageId',
  'errorCode',
  'mobile',
  'receivedTime',
  'deliveredTime',
  'readTime',
  'status',
  'channel',
  'eventType',
] as const;
export type ParamField = (typeof PARAM_FIELDS)[number];
/** The largest `maxInFlight` a subscription may have. */
export const MAX_IN_FLIGHT_MAX = 1_000;

/** The largest `timeoutMs` a subscription may have (SPEC §3). */
export const TIMEOUT_MS_MAX = 30_000;

const enumOf = <T extends string>(values: readonly T[], extra: Record<string, unknown> = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...extra });

const Secret = (maxLength = 4096) => Type.String({ minLength: 1, maxLength });
// Key limits go in propertyNames: a Record compiles its key schema to `^.*$`, dropping them.
const StringMap = (description: string) =>
  Type.Record(Type.String(), Type.String({ maxLength: 2048 }), {
    maxProperties: 20,
    propertyNames: { minLength: 1, maxLength: 128 },
    description,
  });

export const SecretAuthSchema = Type.Object(
  {
    headerName: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }),
    ),
    value: Secret(),
  },
  { additionalProperties: false },
);
export const BearerAuthSchema = Type.Object({ token: Secret() }, { additionalProperties: false });
export const BasicAuthSchema = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 512 }), password: Secret() },
  { additionalProperties: false },
);
export const OAuth2AuthSchema = Type.Object(
  {
    grantType: enumOf(['client_credentials', 'refresh_token'] as const),
    tokenUrl: Type.String({ minLength: 1, maxLength: 2048 }),
    clientId: Type.String({ minLength: 1, maxLength: 512 }),
    clientSecret: Secret(),
    refreshToken: Type.Optional(Secret(8192)),
    scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 50 })),
    audience: Type.Optional(Type.String({ maxLength: 2048 })),
    expiresIn: Type.Optional(Type.Integer({ minimum: 1, maximum: 31_536_000 })),
    authMethod: Type.Optional(enumOf(['client_secret_basic', 'client_secret_post'] as const)),
  },
  { additionalProperties: false },
);

export const FilterSchema = Type.Record(Type.String(), Type.Unknown(), {
  description:
    'Payload filter: {path, op, value} or {and: [...]} / {or: [...]} (SPEC §8). Bounded by MAX_FILTER_BYTES of JSON (default 16 KB) and MAX_FILTER_DEPTH levels of nesting (default 10).',
});

/** Every writable field; PUT takes all of it, POST the same, PATCH any subset. */
export const subscriptionWritableProperties = {
  webhookUrl: Type.String({ minLength: 1, maxLength: 2048 }),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  events: Type.Array(enumOf(EVENT_PATTERNS), { minItems: 1, maxItems: 50, uniqueItems: true }),
  channels: Type.Optional(Type.Array(ChannelSchema, { maxItems: 10, uniqueItems: true })),
  subProduct: Type.Optional(SubProductSchema),
  senders: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 500, uniqueItems: true }),
  ),
  reportType: Type.Optional(enumOf(['all', 'final'] as const)),
  filter: Type.Optional(FilterSchema),
  format: Type.Optional(enumOf(FORMATS)),
  method: Type.Optional(enumOf(['POST', 'GET'] as const)),
  encoding: Type.Optional(enumOf(['json', 'form', 'xml'] as const)),
  // Spelled out: a Record keyed by an Unsafe enum compiles to an open object that accepts any key and value.
  fieldNames: Type.Optional(
    Type.Object(
      Object.fromEntries(
        PARAM_FIELDS.map((f) => [f, Type.Optional(Type.String({ minLength: 1, maxLength: 128 }))]),
      ) as Record<ParamField, TOptional<TString>>,
      { additionalProperties: false },
    ),
  ),
  customParams: Type.Optional(
    StringMap('Extra parameters added to params-format payloads (XML names when encoding is xml).'),
  ),
  customHeaders: Type.Optional(
    StringMap(
      'Extra request headers: token names that are not reserved (protocol, signature, auth headers); ' +
        'values are secrets, masked in answers (send a mask back to keep the stored value).',
    ),
  ),
  authType: Type.Optional(enumOf(AUTH_TYPES)),
  secret: Type.Optional(SecretAuthSchema),
  bearer: Type.Optional(BearerAuthSchema),
  basic: Type.Optional(BasicAuthSchema),
  oauth2: Type.Optional(OAuth2AuthSchema),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: TIMEOUT_MS_MAX })),
  maxRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 20 })),
  rateLimit: Type.Optional(
    Type.Object(
      { perSecond: Type.Integer({ minimum: 1, maximum: 100_000 }) },
      { additionalProperties: false },
    ),
  ),
  maxInFlight: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_IN_FLIGHT_MAX,
      description:
        'Requests under way at once to this subscription, across every worker (default MAX_IN_FLIGHT_PER_SUBSCRIPTION, 50). Deliveries over it wait, parked in arrival order (status pending, heldReason in_flight_cap), and spend no attempt.',
    }),
  ),
  dropStaleStatuses: Type.Optional(
    Type.Boolean({
      description:
        'Default true: a queued status is not sent once a later one of the same message was delivered (it ends `superseded`).',
    }),
  ),
  sendTraceparent: Type.Optional(
    Type.Boolean({
      description:
        'Default false: while Hookline traces (OTEL_* configured), send the W3C `traceparent` of each attempt’s span, so the receiver’s own trace continues Hookline’s.',
    }),
  ),
};

export const SubscriptionInputSchema = Type.Object(subscriptionWritableProperties, {
  additionalProperties: false,
  $id: 'SubscriptionInput',
});
export type SubscriptionInput = Static<typeof SubscriptionInputSchema>;

export type SubscriptionStatus = 'active' | 'paused' | 'disabled';

export interface SigningSecret {
  secret: string;
  /** Epoch ms after which this (old) secret stops signing; absent for the current one. */
  expiresAt?: number;
}

/**
 * A subscription with defaults applied. In memory secrets are plain; in Redis the store
 * keeps the same shape with every secret field encrypted.
 */
export interface Subscription {
  id: string;
  tenantId: string;
  webhookUrl: string;
  description?: string;
  events: string[];
  channels: Channel[];
  subProduct?: SubProduct;
  senders: string[];
  reportType: 'all' | 'final';
  filter?: Record<string, unknown>;
  format: Format;
  method: 'POST' | 'GET';
  encoding: 'json' | 'form' | 'xml';
  fieldNames?: Partial<Record<ParamField, string>>;
  customParams?: Record<string, string>;
  customHeaders?: Record<string, string>;
  authType: AuthType;
  secret?: { headerName: string; value: string };
  bearer?: { token: string };
  basic?: { username: string; password: string };
  oauth2?: Static<typeof OAuth2AuthSchema>;
  timeoutMs: number;
  maxRetries: number;
  rateLimit?: { perSecond: number };
  /** Absent: MAX_IN_FLIGHT_PER_SUBSCRIPTION, read when a delivery runs (so changing it applies). */
  maxInFlight?: number;
  /** Absent (subscriptions saved before 0.4) means true. */
  dropStaleStatuses?: boolean;
  /** Send the attempt span's W3C `traceparent` while tracing is on (absent: false). */
  sendTraceparent?: boolean;
  status: SubscriptionStatus;
  disabledReason?: string;
  signingSecrets: SigningSecret[];
  createdAt: string;
  updatedAt: string;
  deletedAt?: string;
  /** Bumped on every auth change so cached OAuth tokens of older settings are never used. */
  authVersion: number;
  /**
   * Read, never stored: the paths of secrets that could not be decrypted (wrong ENCRYPTION_KEY,
   * damaged value). Deliveries fail with `secret_unreadable` until they are set again.
   */
  unreadableSecrets?: string[];
}

/** Applies SPEC §3 defaults to validated input. */
export function withDefaults(input: SubscriptionInput) {
  return {
    ...input,
    channels: input.channels ?? [],
    senders: input.senders ?? [],
    reportType: input.reportType ?? 'all',
    format: input.format ?? 'native',
    method: input.method ?? 'POST',
    encoding: input.encoding ?? 'json',
    authType: input.authType ?? 'none',
    secret: input.secret
      ? { headerName: input.secret.headerName ?? DEFAULT_SECRET_HEADER, value: input.secret.value }
      : undefined,
    timeoutMs: input.timeoutMs ?? 10_000,
    maxRetries: input.maxRetries ?? 10,
    dropStaleStatuses: input.dropStaleStatuses ?? true,
  };
}

export interface RuleOptions {
  allowHttp: boolean;
}

/** Synchronous rules of SPEC §3 beyond the JSON schema (SSRF checks are async, elsewhere). */
export function subscriptionRuleErrors(input: SubscriptionInput, opts: RuleOptions): FieldError[] {
  const errors: FieldError[] = [];
  parseWebhookUrl(input.webhookUrl, opts, '/webhookUrl', errors);
  refuseFragment(input.webhookUrl, '/webhookUrl', errors);
  if (input.subProduct === 'conversational' && !coversType(input.events, 'message.reply')) {
    errors.push({ path: '/events', message: 'a conversational subscription must cover message.reply' });
  }
  for (const kind of ['secret', 'bearer', 'basic', 'oauth2'] as const) {
    if (input.authType === kind && !input[kind])
      errors.push({ path: `/${kind}`, message: `is required when authType is ${kind}` });
    if (input.authType !== kind && input[kind])
      errors.push({ path: `/${kind}`, message: `is only allowed when authType is ${kind}` });
  }
  if (input.oauth2) {
    if (input.oauth2.grantType === 'refresh_token' && !input.oauth2.refreshToken) {
      errors.push({ path: '/oauth2/refreshToken', message: 'is required for the refresh_token grant' });
    }
    parseWebhookUrl(input.oauth2.tokenUrl, opts, '/oauth2/tokenUrl', errors);
    refuseFragment(input.oauth2.tokenUrl, '/oauth2/tokenUrl', errors);
  }
  if (input.method === 'GET' && input.encoding && input.encoding !== 'json') {
    errors.push({ path: '/encoding', message: 'GET sends a query string; encoding does not apply' });
  }
  if (input.encoding === 'xml') errors.push(...xmlNameErrors(input));
  errors.push(...headerRuleErrors(input));
  return errors;
}

/** A fragment never reaches the receiver, and a GET delivery's query would land inside it. */
function refuseFragment(raw: string, path: string, errors: FieldError[]): void {
  if (raw.includes('#') && !errors.some((e) => e.path === path))
    errors.push({ path, message: 'must not contain a #fragment (it is never sent)' });
}

/** XML payloads use parameter names as element names: each must be one, not renamed silently. */
function xmlNameErrors(input: SubscriptionInput): FieldError[] {
  const problem = 'must be an XML element name when encoding is xml (a letter or _ first, no spaces or ":")';
  const errors: FieldError[] = [];
  for (const key of Object.keys(input.customParams ?? {}))
    if (!isXmlName(key)) errors.push({ path: fieldPath('customParams', key), message: problem });
  for (const [field, name] of Object.entries(input.fieldNames ?? {}))
    if (name !== undefined && !isXmlName(name))
      errors.push({ path: fieldPath('fieldNames', field), message: problem });
  return errors;
}

export function parseWebhookUrl(
  raw: string,
  opts: RuleOptions,
  path: string,
  errors: FieldError[],
): URL | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    errors.push({ path, message: 'must be an absolute URL' });
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    errors.push({ path, message: 'must be an https URL' });
    return undefined;
  }
  if (url.protocol === 'http:' && !opts.allowHttp) {
    errors.push({ path, message: 'must be an https URL (plain http is disabled)' });
    return undefined;
  }
  if (url.username || url.password) {
    errors.push({ path, message: 'must not contain credentials; use authType basic' });
    return undefined;
  }
  return url;
}

export function coversType(patterns: readonly string[], type: string): boolean {
  return patterns.some(
    (p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))),
  );
}
