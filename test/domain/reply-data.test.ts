// A reply's data: WhatsApp's message object is accepted and its known keys are checked; the
// flat shape and other events' data stay free-form.
import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/domain/event.js';
import { HooklineError } from '../../src/domain/errors.js';
import { listFixtures, readJsonFixture } from '../fixtures/formats/load.js';

const reply = (data: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  tenantId: 't1',
  type: 'message.reply',
  channel: 'whatsapp',
  messageId: 'msg-1',
  data,
  ...extra,
});

function refusal(input: unknown, base = ''): { path: string; message: string }[] {
  try {
    parseEvent(input, base);
  } catch (err) {
    expect(err).toBeInstanceOf(HooklineError);
    expect((err as HooklineError).code).toBe('validation_error');
    return (err as HooklineError).errors!;
  }
  throw new Error('accepted');
}

describe("WhatsApp's message shape", () => {
  it.each(listFixtures('whatsapp'))('accepts seed 004 reply %s', (file) => {
    expect(() => parseEvent(readJsonFixture(`whatsapp/${file}`))).not.toThrow();
  });

  it('accepts interactive replies, unknown types and keys Hookline does not read', () => {
    for (const data of [
      { type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'a', title: 'A' } } },
      {
        type: 'interactive',
        interactive: { type: 'list_reply', list_reply: { id: 'a', title: 'A', description: 'd' } },
      },
      { type: 'interactive', interactive: { type: 'nfm_reply', nfm_reply: { response_json: '{}' } } },
      { type: 'audio', audio: { id: '1', mime_type: 'audio/ogg', voice: true } },
      { type: 'location', location: { latitude: 1.5, longitude: 2.5 } },
      { type: 'text', text: { body: 'hi' }, timestamp: '1678889298', referral: { source_url: 'x' } },
    ]) {
      expect(() => parseEvent(reply(data)), JSON.stringify(data)).not.toThrow();
    }
  });

  it.each([
    ['type', { type: 5 }, '/data/type'],
    ['text.body', { type: 'text', text: { body: 5 } }, '/data/text/body'],
    ['text as a string', { type: 'text', text: 'hi' }, '/data/text'],
    ['text without body', { type: 'text', text: {} }, '/data/text/body'],
    ['missing text', { type: 'text' }, '/data/text'],
    ['missing media object', { type: 'image', media: { type: 'image', id: '1' } }, '/data/image'],
    ['media not an object', { type: 'video', video: 'v.mp4' }, '/data/video'],
    ['media id', { type: 'image', image: { id: 1479537139650973 } }, '/data/image/id'],
    [
      'mime_type',
      { type: 'document', document: { mime_type: ['application/pdf'] } },
      '/data/document/mime_type',
    ],
    ['animated', { type: 'sticker', sticker: { id: '1', animated: 'yes' } }, '/data/sticker/animated'],
    ['button.payload', { type: 'button', button: { payload: 42, text: 'Yes' } }, '/data/button/payload'],
    ['from', { type: 'text', text: { body: 'x' }, from: 393336188770 }, '/data/from'],
    ['id', { type: 'text', text: { body: 'x' }, id: null }, '/data/id'],
    ['context.id', { type: 'text', text: { body: 'x' }, context: { from: '1' } }, '/data/context/id'],
    [
      'context.from',
      { type: 'text', text: { body: 'x' }, context: { from: 1, id: 'w' } },
      '/data/context/from',
    ],
    [
      'interactive.type',
      { type: 'interactive', interactive: { button_reply: { id: 'a' } } },
      '/data/interactive/type',
    ],
    [
      'missing choice',
      { type: 'interactive', interactive: { type: 'list_reply', button_reply: { id: 'a' } } },
      '/data/interactive/list_reply',
    ],
    [
      'choice id',
      { type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 7, title: 'A' } } },
      '/data/interactive/button_reply/id',
    ],
  ])('refuses a bad %s with its path', (_name, data, path) => {
    const errors = refusal(reply(data));
    expect(errors.map((e) => e.path)).toEqual([path]);
    expect(errors[0]!.message).not.toBe('');
  });

  it.each([
    ['a long media id', { type: 'image', image: { id: 'i'.repeat(257) } }, '/data/image/id'],
    ['a long sender', { type: 'text', text: { body: 'x' }, from: '1'.repeat(257) }, '/data/from'],
    ['a long media url', { type: 'image', image: { url: 'u'.repeat(2049) } }, '/data/image/url'],
    ['an empty type', { type: '' }, '/data/type'],
    ['a long type', { type: 't'.repeat(65) }, '/data/type'],
    ['an empty context id', { type: 'text', text: { body: 'x' }, context: { id: '' } }, '/data/context/id'],
    [
      'a long context id',
      { type: 'text', text: { body: 'x' }, context: { id: 'w'.repeat(257) } },
      '/data/context/id',
    ],
  ])('refuses %s', (_name, data, path) => {
    expect(refusal(reply(data)).map((e) => e.path)).toEqual([path]);
  });

  it('accepts every field at its limit', () => {
    const data = {
      type: 't'.repeat(64),
      from: '1'.repeat(256),
      context: { id: 'w'.repeat(256) },
      image: { id: 'i'.repeat(256), url: 'u'.repeat(2048) },
    };
    expect(() => parseEvent(reply(data))).not.toThrow();
    expect(() => parseEvent(reply({ type: 'image', image: data.image }))).not.toThrow();
  });

  it('reports schema errors alone, before the required kind objects', () => {
    // Without its image object and with a bad id: only the bad id is named.
    expect(refusal(reply({ type: 'image', id: 5 })).map((e) => e.path)).toEqual(['/data/id']);
    expect(
      refusal(reply({ type: 'interactive', id: 5, interactive: { type: 'button_reply' } })).map(
        (e) => e.path,
      ),
    ).toEqual(['/data/id']);
  });

  it('needs the chosen reply only when the message itself is interactive', () => {
    const data = { type: 'text', text: { body: 'hi' }, interactive: { type: 'button_reply' } };
    expect(() => parseEvent(reply(data))).not.toThrow();
    expect(refusal(reply({ ...data, type: 'interactive' }))).toEqual([
      {
        path: '/data/interactive/button_reply',
        message: 'is required when interactive.type is "button_reply"',
      },
    ]);
  });

  it('names the item in a batch', () => {
    const errors = refusal(reply({ type: 'text', text: { body: 5 } }), '/3');
    expect(errors.map((e) => e.path)).toEqual(['/3/data/text/body']);
  });
});

describe('what stays free-form', () => {
  it('the flat shape, as before', () => {
    for (const data of [
      { text: 'hi', media: { type: 'image', url: 'https://x.example/a.jpg' }, inReplyTo: 'w' },
      { button: { payload: 1, text: 2 }, anything: { nested: [1] } },
      { text: { body: 5 } },
    ]) {
      expect(() => parseEvent(reply(data)), JSON.stringify(data)).not.toThrow();
    }
  });

  it("other events' data, even with a `type`", () => {
    const template = { template: { name: 'order_update' }, type: 'template', text: 5 };
    expect(() => parseEvent(reply(template, { type: 'message.template' }))).not.toThrow();
    expect(() => parseEvent(reply({ type: 5 }, { type: 'message.delivered' }))).not.toThrow();
  });
});
