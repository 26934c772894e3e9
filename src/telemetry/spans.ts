// The spans Hookline makes and their attributes: `hookline.publish` per event accepted,
// `hookline.fanout` per event fanned out, `hookline.deliver` per attempt (`hookline.hold` for a
// run held without one), `hookline.oauth2.token` per token fetch. One trace per event: each job
// carries the traceparent of the span it continues (src/telemetry/traceparent.ts). Every
// function here is called only while tracing is on (`tracer` set), except `traced`.
import {
  context,
  ROOT_CONTEXT,
  trace,
  SpanStatusCode,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { contextOfTraceparent, formatTraceparent } from './traceparent.js';
import { tracer } from './tracing.js';

export const SPAN = {
  publish: 'hookline.publish',
  fanout: 'hookline.fanout',
  deliver: 'hookline.deliver',
  hold: 'hookline.hold',
  token: 'hookline.oauth2.token',
} as const;

export const ATTR = {
  eventId: 'hookline.event.id',
  eventType: 'hookline.event.type',
  tenantId: 'hookline.tenant.id',
  subscriptionId: 'hookline.subscription.id',
  attempt: 'hookline.attempt',
  errorCode: 'hookline.error.code',
  outcome: 'hookline.outcome',
  serverAddress: 'server.address',
  statusCode: 'http.response.status_code',
} as const;

/** Span events of the decisions a run takes besides its attempt. */
export const DECISION = { retry: 'hookline.retry', hold: 'hookline.hold' } as const;

/** What names an event on its spans. */
export interface EventNames {
  id: string;
  type: string;
  tenantId: string;
}

// Each attribute costs on every span twice (the SDK's checks, the export's encoding): the
// publish span names the tenant, the spans under it in the same trace only the event.
const eventAttributes = (e: Pick<EventNames, 'id' | 'type'>): Attributes => ({
  [ATTR.eventId]: e.id,
  [ATTR.eventType]: e.type,
});

/** The traceparent a job carries to continue `span`'s trace under it. */
const traceparentOf = (span: Span): string | undefined => formatTraceparent(span.spanContext());

/** A span under the one `parent` names, a traceparent or a context (a new trace without it). */
const startSpanFrom = (name: string, parent: string | Context | undefined, attributes: Attributes): Span =>
  tracer!.startSpan(
    name,
    { attributes },
    parent === undefined || typeof parent === 'string' ? contextOfTraceparent(parent) : parent,
  );

/** Runs `fn` with `span` active: spans started and log lines written inside join it. */
export const withSpan = <T>(span: Span, fn: () => T): T =>
  context.with(trace.setSpan(context.active(), span), fn);

/** Marks a span failed: status ERROR, and the exception as an event. */
export function failSpan(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException(e);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}

/** One `hookline.publish` span per event of a publish call, under the caller's active span if any. */
export interface PublishSpans {
  /** The traceparent the event's fan-out continues. */
  traceparent(i: number): string | undefined;
  end(duplicates: boolean[]): void;
  fail(err: unknown): void;
}

/** `using`: Hookline's tracer, or a host application's (the library's createPublisher). */
export function publishSpans(events: readonly EventNames[], using: Tracer = tracer!): PublishSpans {
  const spans = events.map((e) =>
    using.startSpan(SPAN.publish, {
      attributes: { [ATTR.eventId]: e.id, [ATTR.eventType]: e.type, [ATTR.tenantId]: e.tenantId },
    }),
  );
  return {
    traceparent: (i) => traceparentOf(spans[i]!),
    end(duplicates) {
      spans.forEach((s, i) => {
        // Only the exception is noted: most events are new.
        if (duplicates[i]) s.setAttribute('hookline.duplicate', true);
        s.end();
      });
    },
    fail(err) {
      for (const s of spans) {
        failSpan(s, err);
        s.end();
      }
    },
  };
}

/** One `hookline.fanout` span per event of an events job, each under its event's publish span. */
export interface FanoutSpans {
  /** The traceparent of event i's fan-out span: its deliveries' jobs carry it. */
  parents: (string | undefined)[];
  /** Event i's fan-out span as a parent context, for the attempts made in this process. */
  contexts: Context[];
  end(deliveries: number, err?: unknown): void;
}

export function fanoutSpans(
  events: readonly Pick<EventNames, 'id' | 'type'>[],
  traceparents?: readonly (string | undefined)[],
): FanoutSpans {
  const spans = events.map((e, i) => startSpanFrom(SPAN.fanout, traceparents?.[i], eventAttributes(e)));
  return {
    parents: spans.map(traceparentOf),
    contexts: spans.map((s) => trace.setSpan(ROOT_CONTEXT, s)),
    end(deliveries, err) {
      for (const s of spans) {
        s.setAttribute('hookline.batch.deliveries', deliveries);
        if (err !== undefined) failSpan(s, err);
        s.end();
      }
    },
  };
}

/** The `hookline.deliver` span of one run of a delivery, under its fan-out's span. */
export function deliverSpan(
  parent: string | Context | undefined,
  a: Pick<EventNames, 'id' | 'type'> & { subscriptionId: string; attempt: number },
): Span {
  return startSpanFrom(SPAN.deliver, parent, {
    [ATTR.eventId]: a.id,
    [ATTR.eventType]: a.type,
    [ATTR.subscriptionId]: a.subscriptionId,
    [ATTR.attempt]: a.attempt,
  });
}

// The host of each webhook URL, parsed once: a subscription's URL is the same on every attempt.
const hosts = new Map<string, string | null>();
const HOSTS_KEPT = 10_000;

function hostOf(url: string): string | undefined {
  let host = hosts.get(url);
  if (host === undefined) {
    try {
      host = new URL(url).hostname;
    } catch {
      host = null;
    }
    if (hosts.size >= HOSTS_KEPT) hosts.clear();
    hosts.set(url, host);
  }
  return host ?? undefined;
}

/** What an attempt came to, on its span. */
export function noteAttempt(
  span: Span,
  a: { url: string; statusCode: number | null; errorCode?: string; errorMessage?: string },
): void {
  const host = hostOf(a.url);
  if (host) span.setAttribute(ATTR.serverAddress, host);
  if (a.statusCode !== null) span.setAttribute(ATTR.statusCode, a.statusCode);
  if (a.errorCode) {
    span.setAttribute(ATTR.errorCode, a.errorCode);
    span.setStatus({ code: SpanStatusCode.ERROR, message: a.errorMessage ?? a.errorCode });
  }
}

/**
 * Runs `fn` inside a new span under the active one, when tracing is on (the token fetch of an
 * attempt); otherwise just runs it.
 */
export async function traced<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  if (!tracer) return fn();
  const span = tracer.startSpan(name, { attributes });
  try {
    return await withSpan(span, fn);
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Runs `fn` under the remote parent a request's `traceparent` header names (a traced producer's
 * span), so the publish spans made inside join the producer's trace; without tracing, or
 * without a valid header, just runs it.
 */
export function underTraceparent<T>(header: string | string[] | undefined, fn: () => T): T {
  if (!tracer || typeof header !== 'string') return fn();
  const parent = contextOfTraceparent(header);
  return parent === ROOT_CONTEXT ? fn() : context.with(parent, fn);
}

/** The traceparent of the active span (a request's `traceparent` header); none while off. */
export function activeTraceparent(): string | undefined {
  if (!tracer) return undefined;
  const span = trace.getSpan(context.active());
  return span ? traceparentOf(span) : undefined;
}

/** `trace_id` and `span_id` of `span` for a log line (the attempt's, written outside its span). */
export function spanLogFields(span: Span): { trace_id: string; span_id: string } {
  const sc = span.spanContext();
  return { trace_id: sc.traceId, span_id: sc.spanId };
}

/**
 * `trace_id` and `span_id` of the active span for a log line (pino mixin); none while off. A new
 * object each time: pino merges the line's own fields into it.
 */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  if (!tracer) return {};
  const span = trace.getSpan(context.active());
  return span ? spanLogFields(span) : {};
}
