// The produced payloads keep the seed documents' keys, nesting and value types.
import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/domain/event.js';
import { PARAM_FIELDS, type Format } from '../../src/domain/subscription.js';
import { encodePayload } from '../../src/delivery/formats/index.js';
import { formatEvents, type FormatCase } from '../fixtures/formats/events.js';
import { listFixtures, readJsonFixture } from '../fixtures/formats/load.js';

/** Keys, nesting and leaf types of a JSON value; values themselves are ignored. */
function shape(value: unknown, ignoreRootKeys: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => shape(v));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      if (!ignoreRootKeys.includes(key)) out[key] = shape((value as Record<string, unknown>)[key]);
    }
    return out;
  }
  return value === null ? 'null' : typeof value;
}

const produced = (format: Format, c: FormatCase): unknown =>
  JSON.parse(encodePayload(formatEvents[c], { format, method: 'POST', encoding: 'json' }).body!);

// [seed fixture, format, case, root keys the seed example lacks but Hookline always sends]
const PAIRS: [string, Format, FormatCase, string[]?][] = [
  ['001-otpless-clicked', 'otpless', 'message.clicked'],
  ['001-otpless-clicked', 'otpless', 'message.sent'],
  ['001-otpless-clicked', 'otpless', 'message.delivered'],
  ['001-otpless-clicked', 'otpless', 'message.read'],
  ['001-otpless-auth-success', 'otpless', 'auth.success'],
  ['001-otpless-auth-fallback', 'otpless', 'auth.fallback'],
  ['000-otpless-approval', 'otpless', 'auth.approval'],
  ['004-meta-status', 'meta', 'message.sent'],
  ['004-meta-status', 'meta', 'message.delivered'],
  ['004-meta-status', 'meta', 'message.read'],
  ['004-meta-status', 'meta', 'message.clicked'],
  ['004-meta-failed', 'meta', 'message.failed'],
  ['004-meta-reply-text', 'meta', 'message.reply-text'],
  ['004-meta-reply-button', 'meta', 'message.reply-button'],
  // 004's media examples omit `key` (its text example has it, "be empty"); SPEC §6 always sends it.
  ['004-meta-reply-image', 'meta', 'message.reply-image', ['key']],
  ['004-meta-reply-video', 'meta', 'message.reply-video', ['key']],
  ['004-meta-reply-sticker', 'meta', 'message.reply-sticker', ['key']],
  ['004-meta-reply-document', 'meta', 'message.reply-document', ['key']],
];

describe('seed example structure', () => {
  it.each(PAIRS)('%s ≅ %s %s', (seed, format, c, extra = []) => {
    const want = shape(readJsonFixture(`seeds/${seed}.json`));
    expect(shape(readJsonFixture(`golden/${format}/${c}.json`), extra)).toEqual(want);
    expect(shape(produced(format, c), extra)).toEqual(want);
  });

  it('meta failed with details adds only Meta error_data to the seed shape', () => {
    const seed = readJsonFixture('seeds/004-meta-failed.json') as {
      entry: { changes: { value: { statuses: { errors: object[] }[] } }[] }[];
    };
    const errors = seed.entry[0]!.changes[0]!.value.statuses[0]!.errors;
    errors[0] = { ...errors[0], error_data: { details: 'x' } };
    expect(shape(produced('meta', 'message.failed-details'))).toEqual(shape(seed));
  });
});

describe("replies published in WhatsApp's own message shape (seed 004)", () => {
  // whatsapp/<seed>.json is the event an internal system forwarding that reply publishes: Meta's
  // message object as data, plus the ids Meta puts around it (wabaId, phoneNumberId, profileName).
  const inputs = listFixtures('whatsapp');

  it('there is one input for every 004 reply example', () => {
    expect(inputs).toEqual(listFixtures('seeds').filter((f) => f.startsWith('004-meta-reply-')));
  });

  it.each(inputs)('%s: accepted, and meta renders the seed example exactly, key order included', (file) => {
    const event = parseEvent(readJsonFixture(`whatsapp/${file}`));
    const body = encodePayload(event, { format: 'meta', method: 'POST', encoding: 'json' }).body!;
    const produced = JSON.parse(body) as Record<string, unknown>;
    const seed = readJsonFixture(`seeds/${file}`) as Record<string, unknown>;
    // 004's media examples omit `key` (see PAIRS above); Hookline always sends it.
    if (!('key' in seed)) delete produced.key;
    expect(produced).toStrictEqual(seed);
    expect(JSON.stringify(produced)).toBe(JSON.stringify(seed));
  });
});

describe('otpiq documented fields (seed 002 has no JSON example)', () => {
  const spec = readJsonFixture('seeds/002-otpiq-fields.json') as {
    required: Record<string, string>;
    optional: Record<string, string>;
    values: Record<string, string[]>;
  };
  const cases: FormatCase[] = [
    'message.sent',
    'message.delivered',
    'message.failed',
    'message.failed-details',
    'message.failed-optin',
  ];

  it.each(cases)('%s has the required fields, documented optional ones, documented values', (c) => {
    const out = produced('otpiq', c) as Record<string, unknown>;
    for (const [key, type] of Object.entries(spec.required)) expect(typeof out[key], key).toBe(type);
    for (const key of Object.keys(out)) expect({ ...spec.required, ...spec.optional }).toHaveProperty(key);
    for (const [key, type] of Object.entries(spec.optional))
      if (key in out) expect(typeof out[key]).toBe(type);
    for (const [key, allowed] of Object.entries(spec.values)) expect(allowed).toContain(out[key]);
    expect('reason' in out).toBe(out.status === 'failed');
  });

  it('read and clicked keep the documented fields (status values beyond the seed)', () => {
    for (const c of ['message.read', 'message.clicked'] as const) {
      expect(Object.keys(produced('otpiq', c) as object).sort()).toEqual(
        Object.keys(produced('otpiq', 'message.sent') as object).sort(),
      );
    }
  });
});

describe('params fields (seed 003 lists parameters, no example)', () => {
  const seedFields = readJsonFixture('seeds/003-params-fields.json') as Record<string, string>;

  it('every parameter the panel lets users name is a renamable field', () => {
    for (const field of Object.values(seedFields)) expect(PARAM_FIELDS).toContain(field);
  });

  it.each(['message.sent', 'message.delivered', 'message.read', 'message.failed'] as const)(
    'a %s DLR uses only named fields',
    (c) => {
      for (const key of Object.keys(produced('params', c) as object)) expect(PARAM_FIELDS).toContain(key);
    },
  );
});
