// The W3C `traceparent` of a span (version 00), the one string a queued job carries to join its
// event's trace, and the context it names again when the job runs (possibly hours later,
// elsewhere). Only trace id, span id and the sampled flag travel: no tracestate, no baggage.
import { trace, ROOT_CONTEXT, type Context, type SpanContext } from '@opentelemetry/api';

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * `00-<trace id>-<span id>-<flags>` (55 characters), or undefined for an invalid context. The
 * ids of the SDK's spans are well-formed hex: only the all-zero (invalid) ones are looked for.
 */
export function formatTraceparent(sc: SpanContext): string | undefined {
  if (sc.traceId === ZERO_TRACE || sc.spanId === ZERO_SPAN) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`;
}

/** Lower-case hex only, as the version-00 format wants; `to` excluded. */
function isHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * The remote span context a traceparent names, or undefined when it is absent or malformed.
 * Checked by hand, not by a regular expression: it runs once per delivery run (a few µs saved).
 */
export function parseTraceparent(tp: string | undefined): SpanContext | undefined {
  if (tp?.length !== 55 || !tp.startsWith('00-') || tp[35] !== '-' || tp[52] !== '-') return undefined;
  if (!isHex(tp, 3, 35) || !isHex(tp, 36, 52) || !isHex(tp, 53, 55)) return undefined;
  const traceId = tp.slice(3, 35);
  const spanId = tp.slice(36, 52);
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(tp.slice(53), 16) & 1, isRemote: true };
}

/** A context whose parent span is the one `tp` names; the root context without one. */
export function contextOfTraceparent(tp: string | undefined): Context {
  const sc = parseTraceparent(tp);
  return sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : ROOT_CONTEXT;
}
