// One delivery attempt: build the exact request (format, signature, auth, custom headers),
// send it through the shared Agent within timeoutMs, and describe the outcome. Never throws.
import { setMaxListeners } from 'node:events';
import type { Dispatcher } from 'undici';
import type { HooklineEvent } from '../domain/event.js';
import type { Subscription } from '../domain/subscription.js';
import { boundedMemo } from '../memo.js';
import { parseRetryAfter } from '../queue/backoff.js';
import { USER_AGENT } from '../version.js';
import { authHeaderName, authHeaders, type AuthDeps } from './auth/index.js';
import { DeliveryError } from './errors.js';
import { encodePayload } from './formats/index.js';
import { RESPONSE_BODY_CAP } from './http-client.js';
import { signatureHeader } from './sign.js';

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

/** Headers a subscriber's customHeaders may never set. */
const PROTECTED = new Set([
  'content-type',
  'user-agent',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'authorization',
]);

export function isProtectedHeader(name: string, sub: Pick<Subscription, 'authType' | 'secret'>): boolean {
  const n = name.toLowerCase();
  return (
    PROTECTED.has(n) || n.startsWith('webhook-') || n === authHeaderName(sub as Subscription)?.toLowerCase()
  );
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
      if (!isProtectedHeader(k, sub)) headers[k.toLowerCase()] = v;
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
  Object.assign(headers, await authHeaders(sub, deps));
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

async function send(deps: AttemptDeps, req: OutboundRequest, timeoutMs: number, cacheable: boolean) {
  const { origin, path } = target(req.url, cacheable);
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
  const body = await readCapped(res.body, res.headers['content-length']);
  return { statusCode: res.statusCode, headers: flattenHeaders(res.headers), body };
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
