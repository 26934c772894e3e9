// How history records become PostgreSQL rows and back: the fields queries filter on get columns,
// the rest is compact JSON (attempts as tuples, rare delivery fields in one object). Lossless for
// records whose times are RFC 3339 UTC strings with milliseconds, as Hookline writes them.
import type { HooklineEvent } from '../../domain/event.js';
import type { Attempt, DeliveryRecord } from '../../domain/delivery-record.js';
import { statusOfCode, STATUS_CODE } from '../delivery-layout.js';
import type { HistoryDelivery } from './history-store.js';

export { STATUS_CODE, statusOfCode } from '../delivery-layout.js';

const iso = (ms: number) => new Date(ms).toISOString();
/** Epoch ms of a time that reads back as the same string, else undefined. */
function canonicalMs(time: string): number | undefined {
  const ms = Date.parse(time);
  return Number.isNaN(ms) || iso(ms) !== time ? undefined : ms;
}

/** JSON of an object, or `empty` when it has no keys. */
const jsonOrEmpty = <E>(o: Record<string, unknown>, empty: E): string | E =>
  Object.keys(o).length === 0 ? empty : JSON.stringify(o);

export interface EventRow {
  tenantId: string;
  type: string;
  createdAt: string;
  occurredAt: string | null;
  id: string;
  messageId: string | null;
  body: string | null;
}

export function eventToRow(e: HooklineEvent): EventRow {
  const { id, tenantId, type, messageId, acceptedAt, occurredAt, ...rest } = e;
  const createdAt = iso(acceptedAt);
  const occurredMs = canonicalMs(occurredAt);
  // A time that would not read back the same stays in the body, as given.
  const body: Record<string, unknown> = occurredMs === undefined ? { ...rest, occurredAt } : rest;
  return {
    tenantId,
    type,
    createdAt,
    occurredAt: occurredMs === undefined || occurredAt === createdAt ? null : occurredAt,
    id,
    messageId: messageId ?? null,
    body: jsonOrEmpty(body, null),
  };
}

export function rowToEvent(r: {
  tenant_id: string;
  type: string;
  created_at: Date;
  occurred_at: Date | null;
  id: string;
  message_id: string | null;
  body: string | null;
}): HooklineEvent {
  const createdAt = r.created_at.toISOString();
  const body = r.body ? (JSON.parse(r.body) as Partial<HooklineEvent>) : {};
  return {
    id: r.id,
    tenantId: r.tenant_id,
    type: r.type as HooklineEvent['type'],
    ...(r.message_id !== null ? { messageId: r.message_id } : {}),
    occurredAt: r.occurred_at?.toISOString() ?? createdAt,
    ...body,
    acceptedAt: r.created_at.getTime(),
  } as HooklineEvent;
}

/** [n, startedAt, durationMs, statusCode, error, responseHeaders, responseBody, other fields?] */
type AttemptTuple = [
  number,
  number | string,
  number,
  number | null,
  [string, string] | Attempt['error'],
  Record<string, string>,
  string,
  Record<string, unknown>?,
];

function attemptToTuple(a: Attempt, createdMs: number): AttemptTuple {
  const { n, startedAt, durationMs, statusCode, error, responseHeaders, responseBody, ...other } = a;
  const startedMs = canonicalMs(startedAt);
  const plainError = error && Object.keys(error).length === 2 ? [error.code, error.message] : error;
  const tuple: AttemptTuple = [
    n,
    startedMs === undefined ? startedAt : startedMs - createdMs,
    durationMs,
    statusCode,
    plainError as AttemptTuple[4],
    responseHeaders,
    responseBody,
  ];
  if (Object.keys(other).length > 0) tuple.push(other);
  return tuple;
}

function tupleToAttempt(t: AttemptTuple, createdMs: number): Attempt {
  const [n, started, durationMs, statusCode, error, responseHeaders, responseBody, other] = t;
  return {
    n,
    startedAt: typeof started === 'number' ? iso(createdMs + started) : started,
    durationMs,
    statusCode,
    error: Array.isArray(error) ? { code: error[0], message: error[1] } : error,
    responseHeaders,
    responseBody,
    ...other,
  };
}

export interface DeliveryRow {
  tenantId: string;
  subscriptionId: string;
  eventType: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  id: string;
  eventId: string;
  redrivenTo: string;
  extra: string;
  attempts: string;
}

export function deliveryToRow(d: HistoryDelivery): DeliveryRow {
  const {
    id,
    eventId,
    subscriptionId,
    tenantId,
    eventType,
    status,
    createdAt,
    updatedAt,
    attempts,
    redrivenTo,
    target,
    nextAttemptAt,
    ...rare
  } = d;
  const createdMs = Date.parse(createdAt);
  const extra: Record<string, unknown> = { ...rare };
  if (target !== 'subscription') extra.target = target;
  if (nextAttemptAt !== null) extra.nextAttemptAt = nextAttemptAt;
  return {
    tenantId,
    subscriptionId,
    eventType,
    status: STATUS_CODE[status],
    createdAt: iso(createdMs),
    updatedAt: iso(Date.parse(updatedAt)),
    id,
    eventId,
    redrivenTo: redrivenTo ?? '',
    extra: jsonOrEmpty(extra, ''),
    attempts: JSON.stringify(attempts.map((a) => attemptToTuple(a, createdMs))),
  };
}

export function rowToDelivery(
  r: {
    tenant_id: string;
    subscription_id: string;
    status: string;
    created_at: Date;
    updated_at: Date;
    id: string;
    event_id: string;
    redriven_to: string;
    extra: string;
    attempts: string;
  },
  withAttempts = true,
): DeliveryRecord {
  const createdMs = r.created_at.getTime();
  const extra = r.extra ? (JSON.parse(r.extra) as Partial<DeliveryRecord>) : {};
  return {
    id: r.id,
    eventId: r.event_id,
    subscriptionId: r.subscription_id,
    tenantId: r.tenant_id,
    target: 'subscription',
    status: statusOfCode(r.status),
    createdAt: iso(createdMs),
    updatedAt: r.updated_at.toISOString(),
    nextAttemptAt: null,
    attempts: withAttempts
      ? (JSON.parse(r.attempts) as AttemptTuple[]).map((t) => tupleToAttempt(t, createdMs))
      : [],
    ...extra,
    ...(r.redriven_to ? { redrivenTo: r.redriven_to } : {}),
  };
}

/**
 * Two writes of one delivery as one (the rule of HistoryBatch.deliveries), so a batch carries
 * each delivery once, as the database would merge them.
 */
export function mergeDeliveries(earlier: HistoryDelivery, later: HistoryDelivery): HistoryDelivery {
  const [older, newer] =
    Date.parse(later.updatedAt) >= Date.parse(earlier.updatedAt) ? [earlier, later] : [later, earlier];
  const byN = new Map(older.attempts.map((a) => [a.n, a]));
  for (const a of newer.attempts) byN.set(a.n, a);
  const redrivenTo = newer.redrivenTo ?? older.redrivenTo;
  return {
    ...newer,
    attempts: [...byN.values()].sort((a, b) => a.n - b.n),
    ...(redrivenTo ? { redrivenTo } : {}),
  };
}
