// Shared route schemas (TypeBox): serve validation, types and the OpenAPI document.
import Type from 'typebox';
import { codesWithStatus, ERROR_CODES } from '../domain/errors.js';

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

/** What a problem status means in the OpenAPI document: its codes from the one table. */
const problemDescription = (status: number): string =>
  codesWithStatus(status)
    .map((c) => `\`${c}\`: ${ERROR_CODES[c].about}`)
    .join('; ') || 'Problem';

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
        description: problemDescription(s),
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
