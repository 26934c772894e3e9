// Replies in WhatsApp's message shape and in the flat shape are one reply to every format.
// (Each shape's payloads are pinned by the golden files: message.reply-* flat, message.reply-wa-*.)
import { describe, expect, it } from 'vitest';
import type { HooklineEvent } from '../../src/domain/event.js';
import { FORMATS, type Format } from '../../src/domain/subscription.js';
import { encodePayload } from '../../src/delivery/formats/index.js';
import { formatEvents, type FormatCase } from '../fixtures/formats/events.js';

const json = <T = Record<string, unknown>>(event: HooklineEvent, format: Format): T =>
  JSON.parse(encodePayload(event, { format, method: 'POST', encoding: 'json' }).body!) as T;

const withData = (c: FormatCase, data: Record<string, unknown>): HooklineEvent => ({
  ...formatEvents[c],
  data: { profileName: 'Insider', ...data },
});

/** Each flat golden case, published the way WhatsApp writes it. */
const WHATSAPP_FORMS: [FormatCase, Record<string, unknown>][] = [
  ['message.reply-text', { type: 'text', text: { body: 'Yes, confirm my order' } }],
  [
    'message.reply-image',
    { type: 'image', image: { mime_type: 'image/jpeg', sha256: 'aW1hZ2UtYnl0ZXM=', id: '1479537139650973' } },
  ],
  [
    'message.reply-video',
    { type: 'video', video: { mime_type: 'video/mp4', sha256: 'dmlkZW8tYnl0ZXM=', id: '2188405274886127' } },
  ],
  [
    'message.reply-sticker',
    {
      type: 'sticker',
      sticker: {
        mime_type: 'image/webp',
        sha256: 'c3RpY2tlci1ieXRlcw==',
        id: '906311310733046',
        animated: true,
      },
    },
  ],
  [
    'message.reply-document',
    {
      type: 'document',
      document: {
        filename: 'doc.pdf',
        mime_type: 'application/pdf',
        sha256: 'ZG9jLWJ5dGVz',
        id: '1054632698757212',
      },
    },
  ],
  [
    'message.reply-button',
    {
      context: { from: '15551234567', id: 'msg_7f3a9c' },
      type: 'button',
      button: { payload: 'CONFIRM_ORDER_42', text: 'Confirm' },
    },
  ],
];

describe('one reply, two shapes', () => {
  it.each(WHATSAPP_FORMS)(
    '%s in WhatsApp’s shape: the flat one’s payload, in every format and encoding',
    (c, message) => {
      const whatsapp = withData(c, message);
      for (const format of FORMATS) {
        expect(json(whatsapp, format), format).toStrictEqual(json(formatEvents[c], format));
        const query = (e: HooklineEvent) =>
          [
            ...new URLSearchParams(encodePayload(e, { format, method: 'GET', encoding: 'json' }).query),
          ].sort();
        expect(query(whatsapp), `${format} GET`).toEqual(query(formatEvents[c]));
      }
    },
  );

  it('a flat interactive reply renders as WhatsApp’s in meta, and the other way round in native', () => {
    const c = 'message.reply-wa-interactive-list';
    const { context, from, id, timestamp: _t, type: _type, interactive: _i, ...rest } = formatEvents[c].data!;
    const flat = withData(c, {
      ...rest,
      interactive: {
        type: 'list_reply',
        id: 'slot_tue_am',
        title: 'Tuesday morning',
        description: '09:00-12:00',
      },
      inReplyTo: (context as { id: string }).id,
      from,
      providerMessageId: id,
    });
    for (const format of FORMATS)
      expect(json(flat, format), format).toStrictEqual(json(formatEvents[c], format));
  });
});

describe('formats without a reply webhook carry the reply in the native shape', () => {
  it.each(['otpless', 'otpiq'] as const)('%s: text, media and choices, flat', (format) => {
    expect(json(formatEvents['message.reply-wa-text'], format).data).toMatchObject({
      text: 'Where is my order?',
      inReplyTo: expect.stringMatching(/^wamid\./),
    });
    expect(json(formatEvents['message.reply-wa-image'], format).data).toMatchObject({
      media: {
        type: 'image',
        id: '1175839296633617',
        mimeType: 'image/jpeg',
        caption: 'The box arrived damaged',
      },
    });
    expect(json(formatEvents['message.reply-wa-interactive-button'], format).data).toMatchObject({
      interactive: { type: 'button_reply', id: 'track_order_42', title: 'Track order' },
    });
  });
});

describe('meta', () => {
  const message = (data: Record<string, unknown>) => {
    const body = json<{ entry: [{ changes: [{ value: { messages: [Record<string, unknown>] } }] }] }>(
      withData('message.reply-wa-text', data),
      'meta',
    );
    return body.entry[0].changes[0].value.messages[0];
  };

  it('says "unsupported" for WhatsApp data it cannot read (events queued before 0.4 were not checked)', () => {
    for (const data of [
      { type: 'text' },
      { type: 'image', image: 'x' },
      { type: 'context', context: { id: 'w' } },
      { type: 'Location', Location: {} },
    ]) {
      const msg = message(data);
      expect(msg.type, JSON.stringify(data)).toBe('unsupported');
      expect(
        Object.keys(msg).filter((k) => !['context', 'from', 'id', 'timestamp', 'type'].includes(k)),
      ).toEqual([]);
    }
  });

  it('passes other WhatsApp types on as published', () => {
    const reaction = { message_id: 'wamid.HBgL', emoji: '\u{1F44D}' };
    expect(message({ type: 'reaction', reaction })).toMatchObject({ type: 'reaction', reaction });
    const interactive = { type: 'nfm_reply', nfm_reply: { name: 'flow', response_json: '{"a":1}' } };
    expect(message({ type: 'interactive', interactive })).toMatchObject({ type: 'interactive', interactive });
  });

  it('defaults messages[].from to the recipient and contacts[].wa_id to data.from', () => {
    const { recipient: _r, ...noRecipient } = withData('message.reply-wa-text', {
      type: 'text',
      text: { body: 'x' },
      from: '393336188770',
    });
    const body = json<{ entry: [{ changes: [{ value: { contacts: [{ wa_id: string }] } }] }] }>(
      noRecipient as HooklineEvent,
      'meta',
    );
    expect(body.entry[0].changes[0].value.contacts[0].wa_id).toBe('393336188770');
    expect(message({ type: 'text', text: { body: 'x' } }).from).toBe(
      formatEvents['message.reply-wa-text'].recipient,
    );
  });
});
