// Message events as internal systems publish them (SPEC §2): schema, rules, normalisation.
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import type { FieldError } from './errors.js';
import { validationError } from './errors.js';
import { newId } from './ids.js';

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
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    deliveryReport: Type.Optional(DeliveryReportSchema),
  },
  { additionalProperties: false, $id: 'EventInput' },
);
export type EventInput = Static<typeof EventInputSchema>;

/** An accepted event: id assigned, occurredAt normalised to RFC 3339, acceptance time kept. */
export interface HooklineEvent extends Omit<EventInput, 'id' | 'occurredAt'> {
  id: string;
  occurredAt: string;
  /** Epoch ms when Hookline accepted the event (end-to-end latency starts here). */
  acceptedAt: number;
}

export type MessageStatus = 'sent' | 'delivered' | 'read' | 'failed' | 'clicked';

const STATUS_OF: Partial<Record<EventType, MessageStatus>> = {
  'message.sent': 'sent',
  'message.delivered': 'delivered',
  'message.read': 'read',
  'message.failed': 'failed',
  'message.clicked': 'clicked',
};

/** The delivery status an event reports, if it is a status event. */
export const statusOf = (type: EventType): MessageStatus | undefined => STATUS_OF[type];

/** Final statuses (SPEC §2): delivered and failed. */
export const isFinal = (type: EventType): boolean =>
  type === 'message.delivered' || type === 'message.failed';

/** Status precedence: sent < delivered < read (used to drop stale statuses). */
export const STATUS_RANK: Record<string, number> = { sent: 1, delivered: 2, read: 3 };

const compiled = Compile(EventInputSchema);

/** Rules beyond the schema (SPEC §2): required-when, parsable dates. */
export function eventRuleErrors(e: EventInput, base = ''): FieldError[] {
  const errors: FieldError[] = [];
  if (e.type.startsWith('message.')) {
    if (!e.channel) errors.push({ path: `${base}/channel`, message: `is required for ${e.type}` });
    if (!e.messageId) errors.push({ path: `${base}/messageId`, message: `is required for ${e.type}` });
  }
  if (e.type === 'message.failed' && !e.error) {
    errors.push({ path: `${base}/error`, message: 'is required for message.failed' });
  }
  if (typeof e.occurredAt === 'string' && Number.isNaN(Date.parse(e.occurredAt))) {
    errors.push({
      path: `${base}/occurredAt`,
      message: 'must be an RFC 3339 date-time or epoch milliseconds',
    });
  }
  return errors;
}

/** Schema check for callers outside Fastify (the publisher). */
export function schemaErrors(input: unknown, base = ''): FieldError[] {
  if (compiled.Check(input)) return [];
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const err of compiled.Errors(input)) {
    // TypeBox reports an unknown field twice: as `additionalProperties: false` failing at the
    // field ("schema is false", schemaPath …/additionalProperties) and as the object's
    // additionalProperties error (schemaPath of the object), which names it.
    if (err.schemaPath.endsWith('/additionalProperties')) continue;
    const params = err.params as { requiredProperties?: string[]; additionalProperties?: string[] };
    const props = params.requiredProperties ?? params.additionalProperties;
    const paths = props?.length
      ? props.map((p) => `${base}${err.instancePath}/${p}`)
      : [`${base}${err.instancePath}` || '/'];
    for (const path of paths) {
      if (seen.has(path)) continue;
      seen.add(path);
      const message = params.additionalProperties
        ? 'is not a known field'
        : params.requiredProperties
          ? 'is required'
          : err.message;
      out.push({ path, message });
    }
  }
  return out;
}

/** Validates fully and normalises; throws a validation_error naming each bad field. */
export function parseEvent(input: unknown, base = '', now = Date.now()): HooklineEvent {
  const errors = schemaErrors(input, base);
  if (errors.length === 0) errors.push(...eventRuleErrors(input as EventInput, base));
  if (errors.length > 0) throw validationError(errors);
  return normalizeEvent(input as EventInput, now);
}

export function normalizeEvent(e: EventInput, now = Date.now()): HooklineEvent {
  // new Date() reads epoch milliseconds and date strings alike (the string as Date.parse does).
  const occurredAt = new Date(e.occurredAt ?? now).toISOString();
  // Object.assign, not spread: ten times cheaper on these objects (0.3 vs 3 µs), and safe here
  // because the input is validated (no `__proto__`: the JSON parser and the schema refuse it).
  return Object.assign(
    {},
    e,
    e.id === undefined ? { id: newId('evt'), occurredAt, acceptedAt: now } : { occurredAt, acceptedAt: now },
  ) as HooklineEvent;
}
