// Golden files: every format × every event case produces exactly its hand-written fixture.
import { describe, expect, it } from 'vitest';
import { isFinal, type HooklineEvent } from '../../src/domain/event.js';
import { FORMATS, type Format } from '../../src/domain/subscription.js';
import { encodePayload, type FormatSubscription } from '../../src/delivery/formats/index.js';
import { FORMAT_CASES, formatEvents, type FormatCase } from '../fixtures/formats/events.js';
import { listFixtures, readJsonFixture } from '../fixtures/formats/load.js';

const REPLIES = FORMAT_CASES.filter((c) => c.startsWith('message.reply'));
const AUTH = FORMAT_CASES.filter((c) => c.startsWith('auth.'));

/** Events a provider has no webhook for are sent in the native shape (see each format's header). */
const NATIVE_FALLBACK: Record<Format, readonly FormatCase[]> = {
  native: [],
  otpless: [...REPLIES, 'message.template'],
  otpiq: [...REPLIES, 'message.template', ...AUTH],
  meta: AUTH,
  params: [],
};

const jsonSub = (format: Format): FormatSubscription => ({ format, method: 'POST', encoding: 'json' });

const goldenPath = (format: Format, c: FormatCase) =>
  `golden/${NATIVE_FALLBACK[format].includes(c) ? 'native' : format}/${c}.json`;

describe.each(FORMATS)('format %s', (format) => {
  it.each(FORMAT_CASES)('%s matches its golden file', (c) => {
    const out = encodePayload(formatEvents[c], jsonSub(format));
    expect(out.contentType).toBe('application/json');
    expect(out.query).toBeUndefined();
    expect(out.signedContent).toBe(out.body);
    expect(JSON.parse(out.body!)).toStrictEqual(readJsonFixture(goldenPath(format, c)));
  });

  it('has no golden file without a case', () => {
    const expected = FORMAT_CASES.filter((c) => !NATIVE_FALLBACK[format].includes(c)).map((c) => `${c}.json`);
    expect(listFixtures(`golden/${format}`)).toEqual(expected.sort());
  });
});

describe('isFinal', () => {
  it.each(FORMAT_CASES)('is true only for delivered and failed (%s)', (c) => {
    const event = formatEvents[c];
    const want = event.type === 'message.delivered' || event.type === 'message.failed';
    expect(isFinal(event.type)).toBe(want);
    const native = JSON.parse(encodePayload(event, jsonSub('native')).body!) as {
      data: { isFinal: boolean };
    };
    expect(native.data.isFinal).toBe(want);
    if (!NATIVE_FALLBACK.otpiq.includes(c)) {
      const otpiq = JSON.parse(encodePayload(event, jsonSub('otpiq')).body!) as { isFinal: boolean };
      expect(otpiq.isFinal).toBe(want);
    }
  });
});

describe('purity', () => {
  const deepFreeze = <T>(v: T): T => {
    if (v && typeof v === 'object') {
      for (const child of Object.values(v)) deepFreeze(child);
      Object.freeze(v);
    }
    return v;
  };

  it('never mutates the event and gives the same bytes every time', () => {
    for (const c of FORMAT_CASES) {
      const event: HooklineEvent = deepFreeze(structuredClone(formatEvents[c]));
      for (const format of FORMATS) {
        for (const [method, encoding] of [
          ['POST', 'json'],
          ['POST', 'form'],
          ['POST', 'xml'],
          ['GET', 'json'],
        ] as const) {
          const sub: FormatSubscription = {
            format,
            method,
            encoding,
            fieldNames: { mobile: 'to' },
            customParams: { a: 'b' },
          };
          expect(encodePayload(event, sub)).toEqual(encodePayload(event, sub));
        }
      }
      expect(event).toEqual(formatEvents[c]);
    }
  });
});
