// Flattens a JSON-like payload into ordered [dot.path, string] pairs for query strings and forms.

/**
 * Objects and arrays become dot paths (`entry.0.changes.0.field`), scalars are written with
 * String(), null becomes "" and undefined is skipped; empty objects and arrays leave no pair.
 */
export function flatten(value: unknown, prefix = '', out: [string, string][] = []): [string, string][] {
  if (value === undefined) return out;
  if (value === null) {
    out.push([prefix, '']);
  } else if (typeof value === 'object') {
    // Arrays too: their keys are their indexes, in order.
    for (const key of Object.keys(value)) {
      flatten((value as Record<string, unknown>)[key], prefix === '' ? key : `${prefix}.${key}`, out);
    }
  } else {
    out.push([prefix, String(value)]);
  }
  return out;
}
