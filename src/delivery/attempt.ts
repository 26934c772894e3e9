// One delivery attempt: build the exact request (format, signature, auth, custom headers),
// send it through the shared Agent within timeoutMs, and describe the outcome. Never throws.
import { setMaxListeners } from 'node:events';
import type { Dispatcher } from 'undici';
import type { HooklineEvent } from '../domain/event.js';
import {
  headerNameProblem,
  headerValueProblem,
  isHeaderName,
  isReservedHeaderName,
} from '../domain/http-header.js';
import type { Subscription } from '../domain/subscription.js';
import { isProtectedCustomHeader } from '../domain/subscription-headers.js';
import { boundedMemo } from '../memo.js';
import { parseRetryAfter } from '../domain/backoff.js';
import { USER_AGENT } from '../version.js';
import { authHeaders, type AuthDeps } from './auth/index.js';
import { DeliveryError } from './errors.js';
import { encodePayload } from './formats/index.js';
import { RESPONSE_BODY_CAP } from './http-client.js';
import { signatureHeader } from './sign.js';
import { activeTraceparent } from '../telemetry/spans.js';

export interface OutboundRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}

export interface AttemptOutcome {
  ok: boolean;
  request: OutboundRequest;
  statusCode: number | null;
  responseHeaders: Record<string, string>;
  responseBody: string;
  durationMs: number;
  startedAt: number;
  error: DeliveryError | null;
  retryAfterMs?: number;
}

export interface AttemptDeps extends AuthDeps {
  agent: Dispatcher;
  now?: () => number;
}

/**
 * Hookline's own deadline: a request still unsettled this long after its timeoutMs is given up
 * as `timeout` and its slot freed, whatever the HTTP client does with its abort signal.
 */
export const DEADLINE_MARGIN_MS = 1000;

const invalidHeader = (name: string, problem: string) =>
  // The name is quoted escaped and cut short; the value is never shown (it may be a secret).
  new DeliveryError('invalid_header', `header ${JSON.stringify(name.slice(0, 64))} ${problem}`);

/**
 * Refuses any header that is not a token name with a visible-ASCII value before it reaches
 * undici: a request undici rejects for its headers must never be dispatched (in undici 7 and up
 * to at least 8.10 each one left a pool client waiting forever for a drain; docs/operations.md).
 */
function assertSendable(headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) {
    const problem = isHeaderName(name) ? headerValueProblem(value) : headerNameProblem(name);
    if (problem) throw invalidHeader(name, problem);
  }
}

export async function buildRequest(
  sub: Subscription,
  event: HooklineEvent,
  deps: AuthDeps,
  now = Date.now(),
): Promise<OutboundRequest> {
  if (sub.unreadableSecrets)
    throw new DeliveryError(
      'secret_unreadable',
      `${sub.unreadableSecrets.join(', ')} cannot be decrypted (ENCRYPTION_KEY changed, or the stored value is damaged): set it again`,
    );
  const payload = encodePayload(event, sub);
  const headers: Record<string, string> = {};
  if (sub.customHeaders) {
    for (const [k, v] of Object.entries(sub.customHeaders)) {
      // Refused at save since 0.4; older records may still hold such names.
      if (!isProtectedCustomHeader(k, sub)) headers[k.toLowerCase()] = v;
    }
  }
  headers['user-agent'] = USER_AGENT;
  if (payload.contentType) headers['content-type'] = payload.contentType;
  if (sub.signingSecrets.length > 0) {
    const ts = Math.floor(now / 1000);
    headers['webhook-id'] = event.id;
    headers['webhook-timestamp'] = String(ts);
    headers['webhook-signature'] = signatureHeader(
      sub.signingSecrets,
      event.id,
      ts,
      payload.signedContent,
      now,
    );
  }
  // Only to subscribers who asked, and only from inside an attempt's span (tracing on).
  if (sub.sendTraceparent) {
    const tp = activeTraceparent();
    if (tp) headers.traceparent = tp;
  }
  // Checked before a token is fetched for it, then the auth headers (stored secrets, tokens).
  assertSendable(headers);
  const auth = await authHeaders(sub, deps);
  for (const name of Object.keys(auth)) {
    if (isReservedHeaderName(name)) throw invalidHeader(name, 'is reserved: Hookline sets it itself');
  }
  assertSendable(auth);
  Object.assign(headers, auth);
  let url = sub.webhookUrl;
  if (payload.query) url += (url.includes('?') ? '&' : '?') + payload.query;
  return { url, method: payload.body === undefined ? 'GET' : sub.method, headers, body: payload.body };
}

async function readCapped(
  body: Dispatcher.ResponseData['body'],
  contentLength: string | string[] | undefined,
): Promise<string> {
  // Most receivers answer with an empty body: release the connection without reading.
  if (contentLength === '0') {
    await body.dump();
    return '';
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    chunks.push(buf);
    size += buf.length;
    if (size >= RESPONSE_BODY_CAP) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, RESPONSE_BODY_CAP).toString('utf8');
}

function flattenHeaders(h: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export function classifyError(err: unknown, timeoutMs: number): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = err as { code?: string; name?: string; message?: string };
  if (e?.code === 'ssrf_blocked')
    return new DeliveryError('ssrf_blocked', e.message ?? 'address not allowed', { cause: err });
  if (e?.code === 'oauth_token_error')
    return new DeliveryError('oauth_token_error', e.message ?? 'token endpoint failed', { cause: err });
  if (
    e?.name === 'TimeoutError' ||
    e?.name === 'AbortError' ||
    e?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    e?.code === 'UND_ERR_BODY_TIMEOUT'
  ) {
    return new DeliveryError('timeout', `no response within ${timeoutMs} ms`, { cause: err });
  }
  return new DeliveryError(
    'connection_error',
    `${e?.code ?? e?.name ?? 'error'}: ${e?.message ?? String(err)}`,
    { cause: err },
  );
}

// Parsed subscription URLs: the same for every delivery a subscription gets. URLs that carry a
// payload (GET deliveries) differ every time and are parsed, not cached.
const parseTarget = (raw: string) => {
  const url = new URL(raw);
  return { origin: url.origin, path: url.pathname + url.search };
};
const cachedTarget = boundedMemo(10_000, parseTarget);
const target = (raw: string, cacheable: boolean) => (cacheable ? cachedTarget(raw) : parseTarget(raw));

/**
 * Requests that start in the same 10 ms window with the same timeout share one abort signal,
 * fired once the window's last request has had its whole timeoutMs: each request gets between
 * timeoutMs and timeoutMs + 10 ms, connect included. One signal per request cost ~5 µs.
 */
const TIMEOUT_WINDOW_MS = 10;
const timeoutSignals = new Map<string, AbortSignal>();

function timeoutSignal(timeoutMs: number): AbortSignal {
  const now = Date.now();
  const window = Math.floor(now / TIMEOUT_WINDOW_MS);
  const key = `${timeoutMs}:${window}`;
  let signal = timeoutSignals.get(key);
  if (!signal) {
    const abort = new AbortController();
    signal = abort.signal;
    setMaxListeners(0, signal); // one listener per request in the window
    setTimeout(
      () => {
        timeoutSignals.delete(key);
        abort.abort(new DOMException(`no response within ${timeoutMs} ms`, 'TimeoutError'));
      },
      (window + 1) * TIMEOUT_WINDOW_MS - now + timeoutMs,
    ).unref();
    timeoutSignals.set(key, signal);
  }
  return signal;
}

/** Drops a response body: its connection is closed, its stream error goes nowhere. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined).destroy();
}

interface Exchange {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * One request and its (capped) answer. undici's own timeouts and abort signal end it after
 * timeoutMs; Hookline's deadline, DEADLINE_MARGIN_MS later, settles it as `timeout` even if they
 * never do (a request stuck in a jammed pool, a dispatcher that never calls back), and drops a
 * response that arrives after it. The abandoned request can never settle this attempt twice.
 */
function send(deps: AttemptDeps, req: OutboundRequest, timeoutMs: number, cacheable: boolean) {
  const { origin, path } = target(req.url, cacheable);
  const deadline = timeoutSignal(timeoutMs + DEADLINE_MARGIN_MS);
  let body: Dispatcher.ResponseData['body'] | undefined;
  const exchange = async (): Promise<Exchange> => {
    const res = await deps.agent.request({
      origin,
      path,
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal: timeoutSignal(timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    body = res.body;
    if (deadline.aborted) {
      discard(body); // answered after the deadline: nobody reads it, release the connection
      throw deadline.reason;
    }
    const text = await readCapped(res.body, res.headers['content-length']);
    return { statusCode: res.statusCode, headers: flattenHeaders(res.headers), body: text };
  };
  return new Promise<Exchange>((resolve, reject) => {
    const expire = () => {
      if (body) discard(body);
      reject(new DeliveryError('timeout', `no response within ${timeoutMs} ms (abandoned by Hookline)`));
    };
    deadline.addEventListener('abort', expire, { once: true });
    exchange()
      .then(resolve, reject)
      .finally(() => deadline.removeEventListener('abort', expire));
  });
}

export async function attempt(
  deps: AttemptDeps,
  sub: Subscription,
  event: HooklineEvent,
): Promise<AttemptOutcome> {
  const now = deps.now ?? Date.now;
  const startedAt = now();
  let request: OutboundRequest = { url: sub.webhookUrl, method: sub.method, headers: {} };
  const done = (o: Partial<AttemptOutcome>): AttemptOutcome => ({
    ok: false,
    request,
    statusCode: null,
    responseHeaders: {},
    responseBody: '',
    error: null,
    ...o,
    startedAt,
    durationMs: now() - startedAt,
  });
  try {
    request = await buildRequest(sub, event, deps, startedAt);
    let res = await send(deps, request, sub.timeoutMs, request.url === sub.webhookUrl);
    if (res.statusCode === 401 && sub.authType === 'oauth2' && deps.tokens) {
      // The subscriber rejected our token: drop it and retry once, now, with a fresh one.
      await deps.tokens.invalidate(sub.id);
      request = await buildRequest(sub, event, deps, now());
      res = await send(deps, request, sub.timeoutMs, request.url === sub.webhookUrl);
    }
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    const retryAfterMs =
      res.statusCode === 429 || res.statusCode === 503
        ? parseRetryAfter(res.headers['retry-after'])
        : undefined;
    const error = ok
      ? null
      : res.statusCode === 410
        ? new DeliveryError('gone', 'subscriber answered 410 Gone', { statusCode: 410 })
        : new DeliveryError('http_error', `subscriber answered ${res.statusCode}`, {
            statusCode: res.statusCode,
            retryAfterMs,
          });
    return done({
      ok,
      statusCode: res.statusCode,
      responseHeaders: res.headers,
      responseBody: res.body,
      error,
      retryAfterMs,
    });
  } catch (err) {
    return done({ error: classifyError(err, sub.timeoutMs) });
  }
}
