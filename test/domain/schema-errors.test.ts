// TypeBox validation errors as field errors (src/domain/schema-errors.ts): one per field path,
// unknown and missing fields named by their own path.
import Type from 'typebox';
import { Compile } from 'typebox/compile';
import { describe, expect, it } from 'vitest';
import { schemaErrorsOf } from '../../src/domain/schema-errors.js';

const validator = Compile(
  Type.Object(
    { name: Type.String({ maxLength: 3 }), tags: Type.Optional(Type.Array(Type.String())) },
    { additionalProperties: false },
  ),
);

describe('schemaErrorsOf', () => {
  it('finds nothing in valid input', () => {
    expect(schemaErrorsOf(validator, { name: 'abc' })).toEqual([]);
    expect(schemaErrorsOf(validator, { name: 'abc', tags: [] }, '/0')).toEqual([]);
  });

  it('paths start at the root by default, and under the base when given', () => {
    expect(schemaErrorsOf(validator, { name: 'abcd' })).toEqual([
      { path: '/name', message: 'must not have more than 3 characters' },
    ]);
    expect(schemaErrorsOf(validator, { name: 'abcd' }, '/items/2')).toEqual([
      { path: '/items/2/name', message: 'must not have more than 3 characters' },
    ]);
    expect(schemaErrorsOf(validator, 5)).toEqual([{ path: '/', message: 'must be object' }]);
    expect(schemaErrorsOf(validator, 5, '/3')).toEqual([{ path: '/3', message: 'must be object' }]);
  });

  it('names missing and unknown fields by their own path, once each', () => {
    expect(schemaErrorsOf(validator, { extra: 1, other: 2, tags: [1] })).toEqual([
      { path: '/name', message: 'is required' },
      { path: '/extra', message: 'is not a known field' },
      { path: '/other', message: 'is not a known field' },
      { path: '/tags/0', message: 'must be string' },
    ]);
  });
});
