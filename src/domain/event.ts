// Message events as internal systems publish them (SPEC §2): schema, rules, normalisation.
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { secretContext, type SecretBox } from '../crypto.js';
import type { FieldError } from './errors.js';
import { validationError } from './errors.js';
import { headerValueProblem } from './http-header.js';
import { newId } from './ids.js';
import { replyDataErrors } from './reply-data.js';
import { schemaErrorsOf } from './schema-errors.js';

export const EVENT_TYPES = [
  'message.sent',
  'message.delivered',
  'message.read',
  'message.failed',
  'message.clicked',
  'message.reply',
  'message.template',
  'auth.success',
  'auth.fallback',
  'auth.approval',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * Operational events (SPEC §8): Hookline emits them itself, as events of the tenant concerned;
 * callers cannot publish them (they are not in EVENT_TYPES, so the event schema refuses them).
 */
export const OPERATIONAL_EVENT_TYPES = ['subscription.disabled', 'delivery.exhausted'] as const;
export type OperationalEventType = (typeof OPERATIONAL_EVENT_TYPES)[number];

export const isOperational = (type: string): type is OperationalEventType =>
  type === 'subscription.disabled' || type === 'delivery.exhausted';

export const CHANNELS = ['sms', 'whatsapp', 'viber', 'telegram', 'email', 'rcs'] as const;
export type Channel = (typeof CHANNELS)[number];

export const SUB_PRODUCTS = ['transactional', 'conversational'] as const;
export type SubProduct = (typeof SUB_PRODUCTS)[number];

export const EventTypeSchema = Type.Unsafe<EventType>({ type: 'string', enum: [...EVENT_TYPES] });
export const ChannelSchema = Type.Unsafe<Channel>({ type: 'string', enum: [...CHANNELS] });
export const SubProductSchema = Type.Unsafe<SubProduct>({ type: 'string', enum: [...SUB_PRODUCTS] });

export const EventErrorSchema = Type.Object(
  {
    code: Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Integer()]),
    title: Type.Optional(Type.String({ maxLength: 512 })),
    reason: Type.Optional(Type.String({ maxLength: 2048 })),
    href: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: false },
);

export const DeliveryReportSchema = Type.Object(
  {
    webhookUrl: Type.String({ minLength: 1, maxLength: 2048 }),
    reportType: Type.Optional(Type.Unsafe<'all' | 'final'>({ type: 'string', enum: ['all', 'final'] })),
    webhookSecret: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);

export const EventInputSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:\\-]+$' })),
    tenantId: Type.String({ minLength: 1, maxLength: 128 }),
    type: EventTypeSchema,
    channel: Type.Optional(ChannelSchema),
    subProduct: Type.Optional(SubProductSchema),
    messageId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    sender: Type.Optional(Type.String({ maxLength: 256 })),
    recipient: Type.Optional(Type.String({ maxLength: 256 })),
    occurredAt: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Integer({ minimum: 0 })]),
    ),
    error: Type.Optional(EventErrorSchema),
    data: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description:
          'Type-specific. A message.reply carries WhatsApp\'s message object ({type, text: {body}, image…, button, interactive, context}) or the flat shape ({text, media, button, interactive, inReplyTo}); see the README, "Payload formats".',
      }),
    ),
    deliveryReport: Type.Optional(DeliveryReportSchema),
  },
  { additionalProperties: false, $id: 'EventInput' },
);
export type EventInput = Static<typeof EventInputSchema>;

/** An accepted event: id assigned, occurredAt normalised to RFC 3339, acceptance time kept. */
export interface HooklineEvent extends Omit<EventInput, 'id' | 'occurredAt' | 'type'> {
  id: string;
  /** A published type, or an operational one Hookline emitted. */
  type: EventType | OperationalEventType;
  occurredAt: string;
  /** Epoch ms when Hookline accepted the event (end-to-end latency starts here). */
  acceptedAt: number;
}

export type MessageStatus = 'sent' | 'delivered' | 'read' | 'failed' | 'clicked';

const STATUS_OF: Partial<Record<string, MessageStatus>> = {
  'message.sent': 'sent',
  'message.delivered': 'delivered',
  'message.read': 'read',
  'message.failed': 'failed',
  'message.clicked': 'clicked',
};

/** The delivery status an event reports, if it is a status event. */
export const statusOf = (type: string): MessageStatus | undefined => STATUS_OF[type];

/** Final statuses (SPEC §2): delivered and failed. */
export const isFinal = (type: string): boolean => type === 'message.delivered' || type === 'message.failed';

const compiled = Compile(EventInputSchema);

/** Rules beyond the schema (SPEC §2): required-when, reply data, parsable dates. */
export function eventRuleErrors(e: EventInput, base = ''): FieldError[] {
  const errors: FieldError[] = [];
  if (e.type.startsWith('message.')) {
    if (!e.channel) errors.push({ path: `${base}/channel`, message: `is required for ${e.type}` });
    if (!e.messageId) errors.push({ path: `${base}/messageId`, message: `is required for ${e.type}` });
  }
  if (e.type === 'message.failed' && !e.error) {
    errors.push({ path: `${base}/error`, message: 'is required for message.failed' });
  }
  if (e.type === 'message.reply' && e.data) errors.push(...replyDataErrors(e.data, `${base}/data`));
  if (e.occurredAt !== undefined && occurredAtMs(e.occurredAt) === undefined) {
    errors.push({
      path: `${base}/occurredAt`,
      message: 'must be an RFC 3339 date-time or epoch milliseconds',
    });
  }
  // Sent as the X-Webhook-Secret header value.
  const secretProblem = e.deliveryReport?.webhookSecret && headerValueProblem(e.deliveryReport.webhookSecret);
  if (secretProblem) errors.push({ path: `${base}/deliveryReport/webhookSecret`, message: secretProblem });
  return errors;
}

/**
 * occurredAt as epoch ms: an RFC 3339 string, or epoch milliseconds as a number or as a string of
 * digits (the API's type coercion turns a JSON number into a string). Undefined when it is not a
 * time a Date can hold.
 */
export function occurredAtMs(value: string | number): number | undefined {
  const ms = typeof value === 'number' || /^\d{1,16}$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? ms : undefined;
}

/** Schema check for callers outside Fastify (the publisher). */
export const schemaErrors = (input: unknown, base = ''): FieldError[] =>
  schemaErrorsOf(compiled, input, base);

/** Validates fully and normalises; throws a validation_error naming each bad field. */
export function parseEvent(input: unknown, base = '', now = Date.now()): HooklineEvent {
  const errors = schemaErrors(input, base);
  if (errors.length === 0) errors.push(...eventRuleErrors(input as EventInput, base));
  if (errors.length > 0) throw validationError(errors);
  return normalizeEvent(input as EventInput, now);
}

/** Binds a deliveryReport secret's ciphertext to its tenant, event and field (src/crypto.ts). */
const reportSecretContext = (e: Pick<HooklineEvent, 'tenantId' | 'id'>) =>
  secretContext('event', e.tenantId, e.id, 'deliveryReport.webhookSecret');

/** The event with its deliveryReport secret encrypted, as it is queued and stored. */
export function sealReportSecret(e: HooklineEvent, box: SecretBox): HooklineEvent {
  const r = e.deliveryReport;
  if (!r?.webhookSecret) return e;
  return {
    ...e,
    deliveryReport: { ...r, webhookSecret: box.encrypt(r.webhookSecret, reportSecretContext(e)) },
  };
}

/** A stored event's deliveryReport secret in plain, or marked unreadable (`isUnreadable`). */
export function openReportSecret(e: HooklineEvent, box: SecretBox): string | undefined {
  const secret = e.deliveryReport?.webhookSecret;
  return secret ? box.open(secret, reportSecretContext(e)) : undefined;
}

export function normalizeEvent(e: EventInput, now = Date.now()): HooklineEvent {
  const occurredAt =
    e.occurredAt === undefined
      ? new Date(now).toISOString()
      : new Date(occurredAtMs(e.occurredAt) ?? now).toISOString();
  // Object.assign, not spread: ten times cheaper on these objects (0.3 vs 3 µs), and safe here
  // because the input is validated (no `__proto__`: the JSON parser and the schema refuse it).
  return Object.assign(
    {},
    e,
    e.id === undefined ? { id: newId('evt'), occurredAt, acceptedAt: now } : { occurredAt, acceptedAt: now },
  ) as HooklineEvent;
}
