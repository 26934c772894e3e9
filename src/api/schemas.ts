// Shared route schemas (TypeBox): serve validation, types and the OpenAPI document.
import Type from 'typebox';

export const ProblemSchema = Type.Object(
  {
    status: Type.Integer(),
    title: Type.String(),
    detail: Type.String(),
    code: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', additionalProperties: true, description: 'application/problem+json' },
);

/** What each 4xx means in the OpenAPI document (the `code`s are SPEC §4's). */
const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (`validation_error`, with a field path per error)',
  401: 'No valid bearer token (`unauthorized`)',
  403: 'The token lacks the scope this route needs (`insufficient_scope`)',
  404: 'No such resource for this tenant (`not_found`)',
  409: 'Conflicts with the current state (`conflict`)',
  413: 'The body is larger than the API accepts (`payload_too_large`)',
  415: 'The body is not in a media type this route accepts (`unsupported_media_type`)',
  422: 'The receiver did not accept the verification request (`verification_failed`)',
  429: 'Too many requests or failed authentications; see Retry-After (`rate_limited`)',
  503: 'A store Hookline needs is unavailable; retry later',
};

/**
 * Response declarations for `statuses`, each an application/problem+json body with the Problem
 * schema. Keyed by media type, Fastify serializes with it exactly the answers the error handler
 * sends as application/problem+json.
 */
export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: PROBLEM_DESCRIPTIONS[s] ?? 'Problem',
        content: { 'application/problem+json': { schema: Type.Ref('Problem') } },
      },
    ]),
  );

/**
 * `schema` with problem responses for those of `statuses` it does not declare yet: for the plugins
 * that answer on every route they guard (auth: 401/403, the error handler: 413/415/429).
 */
export function withProblemResponses<S extends { response?: unknown }>(schema: S, statuses: number[]): S {
  const declared = (schema.response ?? {}) as Record<string, unknown>;
  const missing = statuses.filter((s) => !(String(s) in declared));
  if (missing.length === 0) return schema;
  return { ...schema, response: { ...declared, ...problemResponses(...missing) } };
}

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
export const TenantQuery = Type.Object({
  tenantId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
});

export const bearerSecurity = [{ bearerAuth: [] }];
/** The OpenAPI `security` of a route anyone may call (health, metrics, the token endpoint). */
export const noSecurity = [];
