// XML element names (src/domain/xml-name.ts): XML 1.0 names without ":", the rule the xml
// encoder renames keys by and subscriptions are checked against at save.
import { describe, expect, it } from 'vitest';
import { isXmlName } from '../../src/domain/xml-name.js';

describe('isXmlName', () => {
  it('accepts a letter or _ first, then letters, digits, -, . and _', () => {
    for (const name of [
      'a',
      '_',
      'Status',
      'msg-id',
      'a.b',
      'a_1',
      'x9-._',
      'été',
      'ñame·x',
      'xmlThing',
      '名前',
    ]) {
      expect(isXmlName(name), name).toBe(true);
    }
  });

  it('refuses a digit, -, . or · first, spaces, ":" and other punctuation', () => {
    for (const name of [
      '',
      '1st',
      '-a',
      '.a',
      '·a',
      'a b',
      'ns:name',
      'a/b',
      'a@b',
      'a&b',
      '<a>',
      'a\u0000',
    ]) {
      expect(isXmlName(name), JSON.stringify(name)).toBe(false);
    }
  });
});
