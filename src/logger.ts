// pino logger shared by API and workers; secrets are redacted by path before anything is written.
import { pino, type Logger, type LoggerOptions } from 'pino';
import { traceLogFields } from './telemetry/spans.js';

export type { Logger };

/**
 * Paths that may hold secrets in a log object, in pino's path syntax. `*.x` is `x` one level
 * down under any key. The nested paths are pino's `redact` (it checks them only on lines that
 * have a `req` or `headers` key); the others are censored by `censorSecrets` below: pino's
 * redaction of wildcard paths ran on every key of every line and cost about 16 µs a line.
 */
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

export const CENSOR = '[redacted]';
const NESTED_PATHS = REDACT_PATHS.filter((p) => !p.startsWith('*.') && /[.[]/.test(p));
/** Keys censored wherever they sit on a line's top level. */
const TOP_KEYS: readonly string[] = REDACT_PATHS.filter((p) => !/[.[*]/.test(p));
/** Keys censored one level down, under any top-level key. */
const CHILD_KEYS: readonly string[] = REDACT_PATHS.filter((p) => p.startsWith('*.')).map((p) => p.slice(2));

/**
 * A shallow copy that keeps the prototype and every own property, an Error's message and stack
 * included (an accessor, such as V8's `stack`, is read from the original and copied as a value).
 */
function copyOf<T extends object>(o: T): T {
  const props: PropertyDescriptorMap = Object.getOwnPropertyDescriptors(o);
  for (const [k, d] of Object.entries(props)) {
    if (d.get)
      props[k] = {
        value: (o as Record<string, unknown>)[k],
        enumerable: d.enumerable,
        writable: true,
        configurable: true,
      };
  }
  return Object.defineProperties(Object.create(Object.getPrototypeOf(o) as object | null), props) as T;
}

function censorChildren(value: object): object {
  let out: Record<string, unknown> | undefined;
  for (const k of CHILD_KEYS) {
    if (Object.hasOwn(value, k) && (value as Record<string, unknown>)[k] !== undefined) {
      out ??= copyOf(value as Record<string, unknown>);
      Object.defineProperty(out, k, { value: CENSOR, enumerable: true, writable: true, configurable: true });
    }
  }
  return out ?? value;
}

/**
 * A log line's object with the top-level and one-level-down secret keys censored. Nothing the
 * caller passed is changed: an object that needs censoring is copied (prototype kept, so pino's
 * serializers still see an Error as one); a line without secrets is returned as it came.
 */
export function censorSecrets<T extends Record<string, unknown>>(obj: T): T {
  let out: Record<string, unknown> | undefined;
  for (const k of TOP_KEYS) {
    if (Object.hasOwn(obj, k) && obj[k] !== undefined) (out ??= { ...obj })[k] = CENSOR;
  }
  for (const k in obj) {
    if (!Object.hasOwn(obj, k)) continue;
    const v = (out ?? obj)[k];
    if (v === null || typeof v !== 'object') continue;
    const c = censorChildren(v);
    if (c !== v) (out ??= { ...obj })[k] = c;
  }
  return (out ?? obj) as T;
}

/** Strips the query string from URLs before they are logged (it may carry api keys). */
export function safeUrl(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?…`;
}

/** Characters (UTF-16 code units) of lines one turn buffers at most before it writes them. */
export const TURN_BUFFER_CHARS = 64 * 1024;

let stdoutWriter: pino.DestinationStream | undefined;

/**
 * Standard output, the lines of one event-loop turn written together by one synchronous write
 * when the turn's callbacks are done (setImmediate), or as soon as they reach TURN_BUFFER_CHARS.
 * pino's own stdout (what Hookline used before) writes asynchronously, a write per line or per
 * lines logged while one is under way; a process that exits at once (process.exit after a fatal
 * error, an uncaught error) lost the write under way: 88 of 20,000 lines once
 * (test/ops/log-stdout.test.ts). Here an exit flushes what the turn holds (the 'exit' event runs
 * before the process ends) and there is never a write under way to lose; only an end that runs
 * no JavaScript (SIGKILL, V8 out of memory, an abort) loses the lines of the turn it cuts.
 * CPU a line, 100,000 attempt lines in turns of 50: to a pipe 4.4-5.9 µs here, 7.5-9.7 µs with
 * pino's own, 12-15 µs with a synchronous write per line; to a file 3.6 against 7.5 µs. One
 * writer for every logger of the process. A failing stdout (ENOSPC, EIO) loses lines, never the
 * caller's work: stderr says so once a minute.
 */
export function stdoutByTurn(): pino.DestinationStream {
  if (stdoutWriter) return stdoutWriter;
  const out = pino.destination({ dest: 1, sync: true });
  let buf = '';
  let scheduled = false;
  let exiting = false;
  let warnedAt = 0;
  const lost = (err: unknown) => {
    const now = Date.now();
    if (now - warnedAt < 60_000) return;
    warnedAt = now;
    const code = (err as { code?: string }).code ?? String(err);
    process.stderr.write(`hookline: writing log lines to stdout failed (${code}); lines lost\n`);
  };
  // pino rethrows every error of its destination but EPIPE: here they are lines lost.
  out.on('error', lost);
  const flush = () => {
    if (buf === '') return;
    const lines = buf;
    buf = '';
    try {
      out.write(lines);
    } catch (err) {
      lost(err);
    }
  };
  const turnEnded = () => {
    scheduled = false;
    flush();
  };
  process.on('exit', () => {
    // Lines logged after this (by a later 'exit' listener) are written at once.
    exiting = true;
    flush();
  });
  // A variable of its own: pino's DestinationStream type names `write` only.
  const writer = {
    write(line: string) {
      buf += line;
      if (exiting || buf.length >= TURN_BUFFER_CHARS) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(turnEnded);
      }
    },
    /** pino's logger.flush(cb). */
    flush(cb?: (err?: Error) => void) {
      flush();
      cb?.();
    },
  };
  stdoutWriter = writer;
  return writer;
}

export function createLogger(
  level: string,
  options: LoggerOptions = {},
  stream?: pino.DestinationStream,
): Logger {
  const logger = pino(
    {
      level,
      redact: { paths: NESTED_PATHS, censor: CENSOR },
      formatters: { log: censorSecrets, bindings: censorSecrets },
      base: { service: 'hookline' },
      // With tracing on, a line written inside a span (a delivery attempt's) carries its
      // trace_id and span_id; while it is off it adds nothing (one check, an empty object).
      mixin: traceLogFields,
      ...options,
    },
    stream ?? stdoutByTurn(),
  );
  // pino passes a child's bindings through no formatter: censor them on the way in. Children
  // inherit this `child` from the root, so grandchildren are covered too.
  type ChildFn = (this: unknown, bindings: pino.Bindings, opts?: unknown) => unknown;
  const child = logger.child as unknown as ChildFn;
  const censored: ChildFn = function (bindings, opts) {
    return child.call(this, censorSecrets(bindings), opts);
  };
  logger.child = censored as unknown as Logger['child'];
  return logger;
}
