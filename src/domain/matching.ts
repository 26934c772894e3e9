// Which subscriptions receive an event (SPEC §3): tenant, type pattern, channel, subProduct,
// sender, reportType and the optional payload filter. Pure; runs on the fan-out hot path.
import { coversType, type Subscription } from './subscription.js';
import type { FieldError } from './errors.js';
import { isFinal, isOperational, statusOf, type HooklineEvent } from './event.js';
import { nestsDeeperThan } from './json-depth.js';

/**
 * Whether event patterns cover a type. Operational events (SPEC §9) are covered only by their
 * exact type or their own `subscription.*` / `delivery.*` pattern, never by `*`: a catch-all
 * message subscriber does not start receiving Hookline's own reports.
 */
export function coversEvent(patterns: readonly string[], type: string): boolean {
  if (!isOperational(type)) return coversType(patterns, type);
  return patterns.some((p) => p !== '*' && coversType([p], type));
}

export function matches(sub: Subscription, event: HooklineEvent): boolean {
  if (sub.deletedAt || sub.tenantId !== event.tenantId) return false;
  if (!coversEvent(sub.events, event.type)) return false;
  // An operational event is never sent to the subscription it is about.
  if (isOperational(event.type) && event.data?.subscriptionId === sub.id) return false;
  if (sub.channels.length > 0 && event.channel && !sub.channels.includes(event.channel)) return false;
  if (sub.subProduct && event.subProduct && sub.subProduct !== event.subProduct) return false;
  if (sub.senders.length > 0 && !(event.sender && sub.senders.includes(event.sender))) return false;
  // reportType concerns delivery reports: replies and auth events are not reports.
  if (sub.reportType === 'final' && statusOf(event.type) && !isFinal(event.type)) return false;
  if (sub.filter && !evaluateFilter(sub.filter, event)) return false;
  return true;
}

type Op = 'eq' | 'neq' | 'in' | 'nin' | 'exists' | 'contains' | 'gt' | 'gte' | 'lt' | 'lte';

/** Reads `$.a.b` (or `a.b`) from the event. */
export function readPath(event: unknown, path: string): unknown {
  const parts = path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean);
  let cur: unknown = event;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** `{path, op, value}` leaves combined with `{and: [...]}` / `{or: [...]}` / `{not: …}`. */
export function evaluateFilter(filter: Record<string, unknown>, event: HooklineEvent): boolean {
  if (Array.isArray(filter.and))
    return filter.and.every((f) => evaluateFilter(f as Record<string, unknown>, event));
  if (Array.isArray(filter.or))
    return filter.or.some((f) => evaluateFilter(f as Record<string, unknown>, event));
  if (filter.not && typeof filter.not === 'object')
    return !evaluateFilter(filter.not as Record<string, unknown>, event);
  const actual = readPath(event, String(filter.path ?? ''));
  const expected = filter.value;
  switch (filter.op as Op) {
    case 'eq':
      return actual === expected;
    case 'neq':
      return actual !== expected;
    case 'in':
      return Array.isArray(expected) && expected.includes(actual);
    case 'nin':
      return Array.isArray(expected) && !expected.includes(actual);
    case 'exists':
      return (actual !== undefined) === (expected !== false);
    case 'contains':
      return typeof actual === 'string'
        ? actual.includes(String(expected))
        : Array.isArray(actual) && actual.includes(expected);
    case 'gt':
      return typeof actual === 'number' && actual > Number(expected);
    case 'gte':
      return typeof actual === 'number' && actual >= Number(expected);
    case 'lt':
      return typeof actual === 'number' && actual < Number(expected);
    case 'lte':
      return typeof actual === 'number' && actual <= Number(expected);
    default:
      return false;
  }
}

const OPS = new Set(['eq', 'neq', 'in', 'nin', 'exists', 'contains', 'gt', 'gte', 'lt', 'lte']);

/** Bounds on a filter that is saved (MAX_FILTER_BYTES, MAX_FILTER_DEPTH): it is kept, cached and evaluated per event. */
export interface FilterLimits {
  maxBytes: number;
  maxDepth: number;
}

/** Validates a filter's size, nesting and shape; returns field errors under `/filter`. */
export function filterErrors(filter: unknown, limits: FilterLimits): FieldError[] {
  const bytes = Buffer.byteLength(JSON.stringify(filter) ?? '');
  if (bytes > limits.maxBytes)
    return [{ path: '/filter', message: `is ${bytes} bytes of JSON; the limit is ${limits.maxBytes}` }];
  if (nestsDeeperThan(filter, limits.maxDepth))
    return [{ path: '/filter', message: `nests objects and arrays deeper than ${limits.maxDepth} levels` }];
  return shapeErrors(filter, '/filter');
}

// Recursion is bounded by the depth checked above.
function shapeErrors(filter: unknown, base: string): FieldError[] {
  if (!filter || typeof filter !== 'object' || Array.isArray(filter))
    return [{ path: base, message: 'must be an object' }];
  const f = filter as Record<string, unknown>;
  for (const key of ['and', 'or'] as const) {
    if (key in f) {
      if (!Array.isArray(f[key]) || (f[key] as unknown[]).length === 0)
        return [{ path: `${base}/${key}`, message: 'must be a non-empty array' }];
      return (f[key] as unknown[]).flatMap((x, i) => shapeErrors(x, `${base}/${key}/${i}`));
    }
  }
  if ('not' in f) return shapeErrors(f.not, `${base}/not`);
  const errors: FieldError[] = [];
  if (typeof f.path !== 'string' || !f.path)
    errors.push({ path: `${base}/path`, message: 'must be a path such as $.data.channel' });
  if (!OPS.has(String(f.op)))
    errors.push({ path: `${base}/op`, message: `must be one of ${[...OPS].join(', ')}` });
  for (const k of Object.keys(f)) {
    if (!['path', 'op', 'value'].includes(k))
      errors.push({ path: `${base}/${k}`, message: 'is not a known field' });
  }
  return errors;
}
