// pino logger shared by API and workers; secrets are redacted by path before anything is written.
import { pino, type Logger, type LoggerOptions } from 'pino';
import { traceLogFields } from './telemetry/spans.js';

export type { Logger };

/** Paths that may hold secrets anywhere in a log object. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-webhook-secret"]',
  'headers.authorization',
  'headers["x-webhook-secret"]',
  '*.authorization',
  '*.Authorization',
  '*.password',
  '*.token',
  '*.secret',
  '*.value',
  '*.clientSecret',
  '*.client_secret',
  '*.refreshToken',
  '*.refresh_token',
  '*.accessToken',
  '*.access_token',
  '*.signingSecret',
  '*.webhookSecret',
  'password',
  'token',
  'secret',
  'clientSecret',
  'refreshToken',
  'accessToken',
  'signingSecret',
];

/** Strips the query string from URLs before they are logged (it may carry api keys). */
export function safeUrl(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?…`;
}

export function createLogger(
  level: string,
  options: LoggerOptions = {},
  stream?: pino.DestinationStream,
): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'hookline' },
      // With tracing on, a line written inside a span (a delivery attempt's) carries its
      // trace_id and span_id; while it is off it adds nothing (one check, an empty object).
      mixin: traceLogFields,
      ...options,
    },
    stream,
  );
}
