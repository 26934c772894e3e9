// The W3C `traceparent` of a span (version 00), the one string a queued job carries to join its
// event's trace, and the context it names again when the job runs (possibly hours later,
// elsewhere). Only trace id, span id and the sampled flag travel: no tracestate, no baggage.
import { trace, ROOT_CONTEXT, type Context, type SpanContext } from '@opentelemetry/api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
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

/** The remote span context a traceparent names, or undefined when it is absent or malformed. */
export function parseTraceparent(tp: string | undefined): SpanContext | undefined {
  if (!tp) return undefined;
  const m = TRACEPARENT.exec(tp);
  // The pattern checked the hex already: only the all-zero (invalid) ids are left to refuse.
  if (!m || m[1] === ZERO_TRACE || m[2] === ZERO_SPAN) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16) & 1, isRemote: true };
}

/** A context whose parent span is the one `tp` names; the root context without one. */
export function contextOfTraceparent(tp: string | undefined): Context {
  const sc = parseTraceparent(tp);
  return sc ? trace.setSpanContext(ROOT_CONTEXT, sc) : ROOT_CONTEXT;
}
