// PostgreSQL array literals for the batch write's unnest parameters, built here instead of by
// node-postgres: its encoder escapes every element with two regular-expression replaces and a
// concatenation each, which was a tenth of the bytes a delivery allocated with the PostgreSQL
// history (bench --profile --pg, heap sampling). Inside a double-quoted element only `"` and
// `\` mean anything (https://www.postgresql.org/docs/15/arrays.html#ARRAYS-IO): they are
// backslash-escaped, everything else goes as it is; NULL is the unquoted word.

const SPECIAL = /["\\]/;
const SPECIALS = /["\\]/g;

/** `{"a","b\"c",NULL}`: text elements, each quoted. */
export function textArray(values: readonly (string | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else out += SPECIAL.test(v) ? `"${v.replace(SPECIALS, '\\$&')}"` : `"${v}"`;
  }
  return `${out}}`;
}

/** `{1,2,3}`: integer elements. */
export const intArray = (values: readonly number[]): string => `{${values.join(',')}}`;
