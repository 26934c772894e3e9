// The Redis history's layout (0.5 on; B7: Redis bytes per delivered event): one hash per
// delivery, its attempts inside it as tuples, times as epoch ms, statuses as one character, common
// response headers as numbers; the stored event without what its key already says, its fields
// by position in an array. Readers accept the older layouts too (records: names, ISO times,
// attempts in a list beside the hash; events: the whole JSON, or fields under one letter). The scripts that write records
// (src/redis/lua/add-pending, record-attempts, set-status, supersede-if-stale, mark-redriven)
// follow the same field names (REC).
import type { Attempt, DeliveryRecord, DeliveryStatus } from '../domain/delivery-record.js';
import type { HooklineEvent } from '../domain/event.js';

/** One character per status (the record's `s` field, PostgreSQL's `status` column); every status must have one. */
export const STATUS_CODE: Record<DeliveryStatus, string> = {
  pending: 'p',
  retrying: 'r',
  succeeded: 's',
  failed: 'f',
  cancelled: 'c',
  superseded: 'x',
};
const STATUS_OF_CODE = new Map(Object.entries(STATUS_CODE).map(([s, c]) => [c, s as DeliveryStatus]));

export function statusOfCode(code: string): DeliveryStatus {
  const status = STATUS_OF_CODE.get(code);
  if (!status) throw new Error(`unknown delivery status code ${JSON.stringify(code)} in the history`);
  return status;
}

const iso = (ms: number) => new Date(ms).toISOString();
/** Epoch ms of a time that reads back as the same string, else undefined. */
function canonicalMs(time: string): number | undefined {
  const ms = Date.parse(time);
  return Number.isNaN(ms) || iso(ms) !== time ? undefined : ms;
}

/**
 * Response header names and whole headers common enough to store as a number. Part of the stored
 * format: entries are only ever appended, never reordered or removed.
 */
const HEADER_NAMES = [
  'date',
  'content-type',
  'content-length',
  'connection',
  'keep-alive',
  'server',
  'transfer-encoding',
  'cache-control',
  'vary',
  'x-request-id',
  'etag',
  'location',
  'retry-after',
  'x-powered-by',
  'expires',
  'pragma',
  'x-content-type-options',
  'strict-transport-security',
  'access-control-allow-origin',
  'set-cookie',
];
const HEADER_PAIRS: [string, string][] = [
  ['connection', 'keep-alive'],
  ['connection', 'close'],
  ['keep-alive', 'timeout=5'],
  ['content-length', '0'],
  ['transfer-encoding', 'chunked'],
  ['content-type', 'application/json'],
  ['content-type', 'application/json; charset=utf-8'],
  ['content-type', 'text/plain; charset=utf-8'],
  ['content-type', 'text/html; charset=utf-8'],
  ['content-type', 'text/plain'],
  ['x-content-type-options', 'nosniff'],
  ['cache-control', 'no-cache'],
  ['vary', 'Accept-Encoding'],
  ['x-powered-by', 'Express'],
];
const NAME_CODE = new Map(HEADER_NAMES.map((n, i) => [n, i]));
const PAIR_CODE = new Map(HEADER_PAIRS.map(([n, v], i) => [`${n}\n${v}`, i]));
const DATE = 0;

/**
 * A stored header: a common one's number (HEADER_PAIRS); -1 - s, the `date` s ≥ 0 seconds after
 * the attempt's start second; or [name (or its number), value (the date: seconds from the start)].
 */
type StoredHeader = number | [number | string, string | number];

function headersToRedis(h: Record<string, string>, startedMs: number | undefined): StoredHeader[] {
  const out: StoredHeader[] = [];
  for (const [name, value] of Object.entries(h)) {
    const pair = PAIR_CODE.get(`${name}\n${value}`);
    if (pair !== undefined) {
      out.push(pair);
      continue;
    }
    const code = NAME_CODE.get(name);
    if (code === DATE && startedMs !== undefined) {
      const s = Math.floor(startedMs / 1000);
      const at = Date.parse(value);
      // A date that reads back as the same string is stored as its offset from the start, in s.
      if (!Number.isNaN(at) && new Date(at).toUTCString() === value) {
        const d = at / 1000 - s;
        out.push(d >= 0 ? -1 - d : [DATE, d]);
        continue;
      }
    }
    out.push([code ?? name, value]);
  }
  return out;
}

function headersFromRedis(stored: StoredHeader[], startedMs: number | undefined): Record<string, string> {
  const h: Record<string, string> = {};
  for (const x of stored) {
    if (typeof x === 'number' && x < 0) {
      h.date = new Date((Math.floor((startedMs ?? 0) / 1000) - 1 - x) * 1000).toUTCString();
      continue;
    }
    if (typeof x === 'number') {
      const [n, v] = HEADER_PAIRS[x]!;
      h[n] = v;
      continue;
    }
    const [n, v] = x;
    const name = typeof n === 'number' ? HEADER_NAMES[n]! : n;
    h[name] =
      typeof v === 'number' ? new Date((Math.floor((startedMs ?? 0) / 1000) + v) * 1000).toUTCString() : v;
  }
  return h;
}

/**
 * An attempt as the record hash's `a` field holds it, a tuple: [started (ms after the record's
 * creation, or the time as given when it does not read back the same), n, durationMs, statusCode,
 * headers, body, error ([code, message] or as is), other fields?]; trailing defaults (no error,
 * an empty body, no headers) left out.
 * `startedMs` set: the tuple's first element is a 0 the writing script replaces with the offset
 * from the record's creation (it knows it; the writer does not).
 */
export function attemptToRedis(a: Attempt): { startedMs: number | undefined; tuple: string } {
  const { n, startedAt, durationMs, statusCode, error, responseHeaders, responseBody, ...other } = a;
  const startedMs = canonicalMs(startedAt);
  const plainError = error && Object.keys(error).length === 2 ? [error.code, error.message] : error;
  const t: unknown[] = [
    startedMs === undefined ? startedAt : 0,
    n,
    durationMs,
    statusCode,
    headersToRedis(responseHeaders, startedMs),
    responseBody,
    plainError,
  ];
  if (Object.keys(other).length > 0) t.push(other);
  else if (plainError === null) {
    t.pop();
    if (responseBody === '') {
      t.pop();
      if (Object.keys(responseHeaders).length === 0) t.pop();
    }
  }
  return { startedMs, tuple: JSON.stringify(t) };
}

export function attemptFromRedis(t: unknown[], createdMs: number): Attempt {
  const [started, n, durationMs, statusCode, headers, body, error, other] = t as [
    number | string,
    number,
    number,
    number | null,
    StoredHeader[] | undefined,
    string | undefined,
    [string, string] | Attempt['error'] | undefined,
    Record<string, unknown> | undefined,
  ];
  const startedMs = typeof started === 'number' ? createdMs + started : undefined;
  return {
    n,
    startedAt: startedMs !== undefined ? iso(startedMs) : (started as string),
    durationMs,
    statusCode: statusCode ?? null,
    error: Array.isArray(error) ? { code: error[0], message: error[1] } : (error ?? null),
    responseHeaders: headersFromRedis(headers ?? [], startedMs),
    responseBody: body ?? '',
    ...other,
  };
}

/** Record hash fields of the compact layout (`E` present: this layout; `eventId`: the older one). */
export const REC = {
  eventId: 'E',
  subscriptionId: 'S',
  tenantId: 'T',
  /** epoch ms */
  createdAt: 'C',
  /** STATUS_CODE */
  status: 's',
  /** ms after C; absent: C */
  updatedAt: 'U',
  /** epoch ms; absent or '': none */
  nextAttemptAt: 'N',
  /** absent: subscription */
  target: 'g',
  series: 'n',
  retryOf: 'R',
  redrivenTo: 'd',
  supersededBy: 'b',
  /** JSON array of attemptToRedis tuples */
  attempts: 'a',
} as const;

const LINKS = ['series', 'retryOf', 'redrivenTo', 'supersededBy'] as const;
type Link = (typeof LINKS)[number];

/** A record's links that are set, read from its hash under `field`'s name for each. */
function linksOf(h: Record<string, string>, field: (link: Link) => string): Pick<DeliveryRecord, Link> {
  const out: Record<string, string | number> = {};
  for (const link of LINKS) {
    const v = h[field(link)];
    if (v) out[link] = link === 'series' ? Number(v) : v;
  }
  return out;
}

/** A record from its hash, either layout (older: ISO times, whole attempts in a list beside it). */
export function recordFromRedis(
  id: string,
  h: Record<string, string>,
  legacyAttempts: string[] | undefined,
  withAttempts = true,
): DeliveryRecord | undefined {
  if (h.E !== undefined) {
    const created = Number(h.C);
    return {
      id,
      eventId: h.E,
      subscriptionId: h.S!,
      tenantId: h.T!,
      target: h.g ?? 'subscription',
      status: h.s ? statusOfCode(h.s) : 'pending',
      createdAt: iso(created),
      updatedAt: iso(created + Number(h.U ?? 0)),
      nextAttemptAt: h.N ? iso(Number(h.N)) : null,
      attempts:
        withAttempts && h.a ? (JSON.parse(h.a) as unknown[][]).map((t) => attemptFromRedis(t, created)) : [],
      ...linksOf(h, (k) => REC[k]),
    };
  }
  if (!h.eventId) return undefined;
  return {
    id,
    eventId: h.eventId,
    subscriptionId: h.subscriptionId!,
    tenantId: h.tenantId!,
    target: h.target ?? 'subscription',
    status: (h.status ?? 'pending') as DeliveryStatus,
    createdAt: h.createdAt!,
    updatedAt: h.updatedAt ?? h.createdAt!,
    nextAttemptAt: h.nextAttemptAt || null,
    attempts: (legacyAttempts ?? []).map((a) => JSON.parse(a) as Attempt),
    ...linksOf(h, (k) => k),
  };
}

/** A record's status from HMGET rec `s` `status` (either layout). */
export const statusFromRedis = (code: string | null | undefined, legacy: string | null | undefined) =>
  code ? statusOfCode(code) : ((legacy ?? undefined) as DeliveryStatus | undefined);

/**
 * Event types stored as their number (`_t`). Part of the stored format: only ever appended.
 * Deliberately not derived from the domain's EVENT_TYPES and OPERATIONAL_EVENT_TYPES (a type
 * inserted or reordered there would change what stored numbers mean); the layout test checks
 * that every domain type has a number here (one without is stored by name).
 */
const STORED_TYPES = [
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
  'subscription.disabled',
  'delivery.exhausted',
];
const TYPE_CODE = new Map(STORED_TYPES.map((t, i) => [t, i]));

/**
 * Event fields stored under one letter (the object form written before the array form; read only).
 * Part of the stored format: never reassigned.
 */
const FIELD_CODE: Record<string, string> = {
  channel: 'c',
  messageId: 'm',
  recipient: 'r',
  sender: 's',
  subProduct: 'p',
  error: 'x',
  data: 'd',
  deliveryReport: 'D',
};
const FIELD_OF_CODE = new Map(Object.entries(FIELD_CODE).map(([f, c]) => [c, f]));

/**
 * Event fields stored by position in the array form, after the type, the acceptance time and the
 * occurrence. Part of the stored format: only ever appended; not derived from the event schema
 * (same reason as STORED_TYPES), the layout test checks every schema field has a position here.
 */
const EVENT_SLOTS = [
  'channel',
  'messageId',
  'recipient',
  'sender',
  'subProduct',
  'error',
  'data',
  'deliveryReport',
] as const;
const SLOT_OF = new Map<string, number>(EVENT_SLOTS.map((f, i) => [f, i + 3]));
const ABSENT = 0;

/**
 * The event as its hash's `e` field holds it: a JSON array without the event's tenant and id (its
 * key names them) nor field names: [type (its number in STORED_TYPES, else its name), acceptedAt
 * (ms), occurredAt (ms after acceptedAt when it reads back the same, else as given), then the
 * EVENT_SLOTS fields (0: absent), then an object of any other field]; trailing absent ones left out.
 */
export function eventToRedis(e: HooklineEvent): string {
  const { id: _id, tenantId: _tenant, acceptedAt, occurredAt, type, ...rest } = e;
  const occurredMs = canonicalMs(occurredAt);
  const t: unknown[] = [
    TYPE_CODE.get(type) ?? type,
    acceptedAt,
    occurredMs === undefined ? occurredAt : occurredMs - acceptedAt,
  ];
  let other: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(rest)) {
    if (v === undefined) continue;
    const at = SLOT_OF.get(k);
    if (at === undefined) (other ??= {})[k] = v;
    else t[at] = v;
  }
  if (other) t[EVENT_SLOTS.length + 3] = other;
  for (let i = 3; i < t.length; i++) t[i] ??= ABSENT;
  while (t.length > 3 && t.at(-1) === ABSENT) t.pop();
  return JSON.stringify(t);
}

function eventFromArray(t: unknown[], ref: { tenantId: string; id: string }): HooklineEvent {
  const [type, acceptedAt, occurred] = t as [number | string, number, number | string];
  const e: Record<string, unknown> = {
    id: ref.id,
    tenantId: ref.tenantId,
    type: typeof type === 'number' ? STORED_TYPES[type] : type,
  };
  EVENT_SLOTS.forEach((f, i) => {
    const v = t[i + 3];
    if (v !== undefined && v !== ABSENT) e[f] = v;
  });
  Object.assign(e, t[EVENT_SLOTS.length + 3] ?? {});
  e.occurredAt = typeof occurred === 'string' ? occurred : iso(acceptedAt + occurred);
  e.acceptedAt = acceptedAt;
  return e as unknown as HooklineEvent;
}

/** A stored event, any form (an array; an object of one-letter fields; an object with a tenantId: stored whole, before 0.5). */
export function eventFromRedis(raw: string, ref: { tenantId: string; id: string }): HooklineEvent {
  const parsed = JSON.parse(raw) as unknown;
  if (Array.isArray(parsed)) return eventFromArray(parsed, ref);
  const o = parsed as Record<string, unknown>;
  if (o.tenantId !== undefined) return o as unknown as HooklineEvent;
  // The object form (before the array form): fields under one letter, `t` the type's number.
  const e: Record<string, unknown> = { id: ref.id, tenantId: ref.tenantId };
  if (o.t !== undefined) e.type = STORED_TYPES[o.t as number];
  for (const [k, v] of Object.entries(o))
    if (k !== 't' && k !== 'a' && k !== 'o') e[FIELD_OF_CODE.get(k) ?? k] = v;
  const acceptedAt = o.a as number;
  e.occurredAt ??= iso((o.o as number | undefined) ?? acceptedAt);
  e.acceptedAt = acceptedAt;
  return e as unknown as HooklineEvent;
}

/** How many attempts a compact record's `a` field holds (without parsing their details). */
export function attemptCount(a: string | null): number {
  if (!a) return 0;
  return (JSON.parse(a) as unknown[]).length;
}
