// TypeBox validation errors as field errors ({path, message}) for checks made outside Fastify.
import type { Validator } from 'typebox/compile';
import type { FieldError } from './errors.js';

/** Every problem the validator finds in `input`, one per field path, paths prefixed with `base`. */
export function schemaErrorsOf(
  validator: Pick<Validator, 'Check' | 'Errors'>,
  input: unknown,
  base = '',
): FieldError[] {
  if (validator.Check(input)) return [];
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const err of validator.Errors(input)) {
    // TypeBox reports an unknown field twice: as `additionalProperties: false` failing at the
    // field ("schema is false", schemaPath …/additionalProperties) and as the object's
    // additionalProperties error (schemaPath of the object), which names it.
    if (err.schemaPath.endsWith('/additionalProperties')) continue;
    const params = err.params as { requiredProperties?: string[]; additionalProperties?: string[] };
    const props = params.requiredProperties ?? params.additionalProperties;
    const paths = props?.length
      ? props.map((p) => `${base}${err.instancePath}/${p}`)
      : [`${base}${err.instancePath}` || '/'];
    for (const path of paths) {
      if (seen.has(path)) continue;
      seen.add(path);
      const message = params.additionalProperties
        ? 'is not a known field'
        : params.requiredProperties
          ? 'is required'
          : err.message;
      out.push({ path, message });
    }
  }
  return out;
}
