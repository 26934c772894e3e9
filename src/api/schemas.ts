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

export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, Type.Ref('Problem')]));

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
export const TenantQuery = Type.Object({
  tenantId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
});

export const bearerSecurity = [{ bearerAuth: [] }];
