// The one place errors become application/problem+json (SPEC §4). Bad input is always 4xx.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { codeForStatus, ERROR_CODES, HooklineError, type FieldError } from '../../domain/errors.js';
import { withProblemResponses } from '../schemas.js';
import { isRedisUnavailable } from '../../redis/unavailable.js';

interface AjvLikeError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[] };
  /** Set on the error a `propertyNames` schema raised for this key. */
  propertyName?: string;
}

/** Converts Ajv errors to field paths; body fields are plain pointers, others get their part. */
export function ajvFieldErrors(errors: AjvLikeError[], context?: string): FieldError[] {
  const base = context && context !== 'body' ? `/${context}` : '';
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    // Ajv follows a bad key's own error with a summary ("property name must be valid").
    if (e.keyword === 'propertyNames') continue;
    let path = `${base}${e.instancePath ?? ''}`;
    let message = e.message ?? 'is invalid';
    if (e.propertyName !== undefined) {
      path += `/${e.propertyName}`;
      message = `name ${message}`;
    } else if (e.params?.missingProperty) {
      path += `/${e.params.missingProperty}`;
      message = 'is required';
    } else if (e.params?.additionalProperty) {
      path += `/${e.params.additionalProperty}`;
      message = 'is not a known field';
    } else if (e.keyword === 'enum' && e.params?.allowedValues) {
      message = `must be one of ${e.params.allowedValues.join(', ')}`;
    }
    path ||= '/';
    const key = `${path}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  return out;
}

function problem(
  status: number,
  code: string,
  title: string,
  detail: string,
  errors?: FieldError[],
  extra?: Record<string, unknown>,
) {
  return { status, title, detail, code, ...(errors?.length ? { errors } : {}), ...extra };
}

/** The code and title of a bare status from Fastify (the table in src/domain/errors.ts). */
function byStatus(status: number): [string, string] {
  const code = codeForStatus(status);
  return code ? [code, ERROR_CODES[code].title] : ['bad_request', 'Bad request'];
}

/** Answers with `err` as problem+json, for the places the central error handler does not reach. */
export function sendProblem(reply: FastifyReply, err: HooklineError): FastifyReply {
  return reply
    .status(err.status)
    .type('application/problem+json')
    .send(problem(err.status, err.code, err.title, err.message, err.errors, err.extra));
}

/**
 * Fastify's `frameworkErrors` option: the router answers a malformed or over-long path
 * (FST_ERR_BAD_URL, FST_ERR_MAX_PARAM_LENGTH) before any route or error handler exists.
 */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 400;
  const [code, title] = byStatus(status);
  void reply
    .status(status)
    .type('application/problem+json')
    .send(problem(status, code, title, err.message));
}

/** Methods whose routes read a body: any of them may answer 400 (not JSON), 413 and 415. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

export default fp(
  async function errorsPlugin(app: FastifyInstance) {
    // The OpenAPI document lists the problems this handler sends for any route that takes a body.
    app.addHook('onRoute', (route) => {
      if (!route.schema || !route.url.startsWith('/v1/')) return;
      if ([route.method].flat().some((m) => BODY_METHODS.has(m)))
        route.schema = withProblemResponses(route.schema, [400, 413, 415]);
    });
    app.setErrorHandler((err: FastifyError & { validationContext?: string }, request, reply) => {
      let body: ReturnType<typeof problem>;
      if (err instanceof HooklineError) {
        body = problem(err.status, err.code, err.title, err.message, err.errors, err.extra);
      } else if (err.validation) {
        const errors = ajvFieldErrors(err.validation as AjvLikeError[], err.validationContext);
        body = problem(
          400,
          'validation_error',
          'Invalid request',
          errors.map((e) => `${e.path}: ${e.message}`).join('; '),
          errors,
        );
      } else if (
        err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
        err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
        (err instanceof SyntaxError && (err.statusCode ?? 400) === 400)
      ) {
        body = problem(400, 'validation_error', 'Invalid request', 'the body is not valid JSON', [
          { path: '/', message: 'is not valid JSON' },
        ]);
      } else if (isRedisUnavailable(err)) {
        // A Redis failover or outage (docs/operations.md "Redis topologies"): the caller retries.
        body = problem(503, 'unavailable', 'Service unavailable', 'Redis is not reachable right now; retry');
      } else if (err.statusCode && err.statusCode < 500) {
        const [code, title] = byStatus(err.statusCode);
        body = problem(err.statusCode, code, title, err.message);
        if (err.statusCode === 429 && reply.getHeader('retry-after') === undefined)
          reply.header('retry-after', '1');
      } else {
        request.log.error({ err }, 'unhandled error');
        body = problem(
          500,
          'internal_error',
          'Internal error',
          'an unexpected error occurred; it has been logged',
        );
      }
      if (body.status >= 500 && body.code !== 'internal_error')
        request.log.warn({ code: body.code }, body.detail);
      return reply.status(body.status).type('application/problem+json').send(body);
    });
    app.setNotFoundHandler((request, reply) =>
      reply
        .status(404)
        .type('application/problem+json')
        .send(
          problem(
            404,
            'not_found',
            'Not found',
            `no route for ${request.method} ${request.url.split('?')[0]}`,
          ),
        ),
    );
  },
  { name: 'errors' },
);
