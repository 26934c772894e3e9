// PATCH semantics for subscriptions: JSON Merge Patch (RFC 7396) over the writable fields —
// objects merge, arrays and `filter` are replaced, `null` removes a field — and the schema
// that accepts such a patch. The merged result is then validated like a full PUT body.
import {
  AUTH_TYPES,
  SubscriptionInputSchema,
  subscriptionWritableProperties,
  type Subscription,
} from './subscription.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Fields a patch replaces whole instead of merging (a filter is one expression). */
const ATOMIC = new Set(['filter']);

function nullable(schema: Json): Json {
  const type = schema.type as string | string[] | undefined;
  if (type === undefined) return schema;
  return {
    ...schema,
    type: [...(Array.isArray(type) ? type : [type]), 'null'],
    ...(Array.isArray(schema.enum) ? { enum: [...schema.enum, null] } : {}),
  };
}

/** Every property optional; optional ones (and map values) may be null, which removes them. */
function patchable(schema: Json): Json {
  if (isObject(schema.properties)) {
    // Stryker disable next-line ArrayDeclaration: equivalent, a name no property has changes nothing
    const required = new Set((schema.required as string[] | undefined) ?? []);
    const properties: Json = {};
    for (const [key, prop] of Object.entries(schema.properties as Record<string, Json>)) {
      const inner = ATOMIC.has(key) ? prop : patchable(prop);
      properties[key] = required.has(key) ? inner : nullable(inner);
    }
    const { required: _required, $id: _id, ...rest } = schema;
    return { ...rest, properties };
  }
  if (isObject(schema.patternProperties)) {
    const patternProperties: Json = {};
    for (const [key, value] of Object.entries(schema.patternProperties as Record<string, Json>)) {
      patternProperties[key] = nullable(value);
    }
    return { ...schema, patternProperties };
  }
  return schema;
}

/** The PATCH body schema, derived from the full one so the two never drift apart. */
export const SubscriptionPatchSchema: Json = {
  ...patchable(JSON.parse(JSON.stringify(SubscriptionInputSchema)) as Json),
  description: 'JSON Merge Patch (RFC 7396) of the writable fields: null removes a field, objects merge.',
};
export type SubscriptionPatch = Partial<Record<keyof typeof subscriptionWritableProperties, unknown>>;

/** RFC 7396 merge. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Json = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** The writable fields of a stored subscription (what a PUT of it would send). */
export function writableFields(sub: Subscription): Json {
  const out: Json = {};
  for (const key of Object.keys(subscriptionWritableProperties)) {
    const value = (sub as unknown as Json)[key];
    if (value !== undefined) out[key] = structuredClone(value);
  }
  return out;
}

/**
 * Applies a patch to a stored subscription's writable fields. Switching `authType` drops the
 * settings of the previous kind unless the patch names them, so `{authType: "none"}` just works.
 */
export function applyPatch(sub: Subscription, patch: SubscriptionPatch): Json {
  const current = writableFields(sub);
  const merged = mergePatch(current, patch) as Json;
  for (const key of ATOMIC) {
    const value = (patch as Json)[key];
    if (value === null) delete merged[key];
    else if (value !== undefined) merged[key] = value;
  }
  if (typeof patch.authType === 'string' && patch.authType !== sub.authType) {
    for (const kind of AUTH_TYPES) if (kind !== patch.authType && !(kind in patch)) delete merged[kind];
  }
  return merged;
}
