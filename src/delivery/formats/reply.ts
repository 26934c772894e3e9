// One reading of a reply's data for every format, whichever shape the publisher used
// (WhatsApp's message object or Hookline's flat one, see src/domain/reply-data.ts).
// Total on any input: data is free-form for the flat shape and for events queued before 0.4.
import type { HooklineEvent } from '../../domain/event.js';
import { isChoiceKind, isMediaKind, type ChoiceKind, type MediaKind } from '../../domain/reply-data.js';
import { recordOf, stringOf } from './values.js';

export interface ReplyMedia {
  id?: string;
  url?: string;
  mimeType?: string;
  sha256?: string;
  caption?: string;
  filename?: string;
  animated?: boolean;
  /** An audio recorded as a voice note. */
  voice?: boolean;
}

export interface ReplyChoice {
  type: ChoiceKind;
  id?: string;
  title?: string;
  description?: string;
}

interface ReplyHead {
  /** The message replied to; `from` is the business number that sent it. */
  context?: { from?: string; id: string };
  /** The user's WhatsApp id. */
  from?: string;
  /** The provider's id of the reply (WhatsApp's wamid). */
  id?: string;
}

export type Reply = ReplyHead &
  (
    | { kind: 'text'; text: string }
    /** `text` sent alongside media (flat `text`, WhatsApp `text.body`): a caption by another name. */
    | { kind: MediaKind; media: ReplyMedia; text?: string }
    | { kind: 'button'; button: { payload?: string; text?: string } }
    | { kind: 'interactive'; interactive: ReplyChoice }
    /** Another WhatsApp type (location, reaction, a flow's nfm_reply…): its object, as published. */
    | { kind: 'other'; type: string; content: unknown }
    | { kind: 'unsupported' }
  );

// Meta's type names; never one of the message's own keys.
const OTHER_TYPE = /^[a-z][a-z_]*$/;
const MESSAGE_KEYS = new Set(['context', 'from', 'id', 'timestamp', 'type', 'errors']);
const isWhatsAppShape = (data: Record<string, unknown>) => typeof data.type === 'string';

export function readReply(data: Record<string, unknown>): Reply {
  return isWhatsAppShape(data) ? readWhatsApp(data, data.type as string) : readFlat(data);
}

function readWhatsApp(data: Record<string, unknown>, type: string): Reply {
  const context = recordOf(data.context);
  const contextId = stringOf(context?.id);
  const head: ReplyHead = {
    context: contextId === undefined ? undefined : { from: stringOf(context?.from), id: contextId },
    from: stringOf(data.from),
    id: stringOf(data.id) ?? stringOf(data.providerMessageId),
  };
  const text = stringOf(recordOf(data.text)?.body) ?? stringOf(data.text);
  if (type === 'text') {
    return text === undefined ? { ...head, kind: 'unsupported' } : { ...head, kind: 'text', text };
  }
  if (isMediaKind(type)) {
    const media = recordOf(data[type]);
    return media
      ? { ...head, kind: type, media: mediaOf(media, 'mime_type'), text }
      : { ...head, kind: 'unsupported' };
  }
  if (type === 'button') {
    const button = recordOf(data.button);
    return button ? { ...head, kind: 'button', button: buttonOf(button) } : { ...head, kind: 'unsupported' };
  }
  const interactive = type === 'interactive' ? choiceOf(recordOf(data.interactive)) : undefined;
  if (interactive) return { ...head, kind: 'interactive', interactive };
  // Other types, and interactive replies other than a choice (nfm_reply…), as published.
  const content = data[type];
  return OTHER_TYPE.test(type) && !MESSAGE_KEYS.has(type) && content !== undefined
    ? { ...head, kind: 'other', type, content }
    : { ...head, kind: 'unsupported' };
}

function readFlat(data: Record<string, unknown>): Reply {
  const inReplyTo = stringOf(data.inReplyTo);
  const head: ReplyHead = {
    context: inReplyTo === undefined ? undefined : { id: inReplyTo },
    from: stringOf(data.from),
    id: stringOf(data.providerMessageId),
  };
  const text = stringOf(data.text);
  const button = recordOf(data.button);
  if (button) return { ...head, kind: 'button', button: buttonOf(button) };
  const interactive = choiceOf(recordOf(data.interactive));
  if (interactive) return { ...head, kind: 'interactive', interactive };
  const media = recordOf(data.media);
  if (media) {
    const type = stringOf(media.type) ?? '';
    return isMediaKind(type)
      ? { ...head, kind: type, media: mediaOf(media, 'mimeType'), text }
      : { ...head, kind: 'unsupported' };
  }
  return text === undefined ? { ...head, kind: 'unsupported' } : { ...head, kind: 'text', text };
}

function mediaOf(media: Record<string, unknown>, mimeKey: 'mime_type' | 'mimeType'): ReplyMedia {
  return {
    id: stringOf(media.id),
    url: stringOf(media.url),
    mimeType: stringOf(media[mimeKey]),
    sha256: stringOf(media.sha256),
    caption: stringOf(media.caption),
    filename: stringOf(media.filename),
    animated: booleanOf(media.animated),
    voice: booleanOf(media.voice),
  };
}

const booleanOf = (v: unknown) => (typeof v === 'boolean' ? v : undefined);

const buttonOf = (button: Record<string, unknown>) => ({
  payload: stringOf(button.payload),
  text: stringOf(button.text),
});

/** WhatsApp's {type, button_reply: {id, title}} or the flat {type, id, title}. */
function choiceOf(interactive: Record<string, unknown> | undefined): ReplyChoice | undefined {
  const type = stringOf(interactive?.type);
  if (interactive === undefined || type === undefined || !isChoiceKind(type)) return undefined;
  const choice = recordOf(interactive[type]) ?? interactive;
  return {
    type,
    id: stringOf(choice.id),
    title: stringOf(choice.title),
    description: stringOf(choice.description),
  };
}

/**
 * The event's data with a reply in the flat shape, for formats that pass data on (native,
 * params). WhatsApp's message object is converted: from stays, id becomes providerMessageId,
 * context.id inReplyTo, timestamp goes (the event's occurredAt says it), and the content Hookline
 * reads becomes text, media, button or interactive; other types keep `type` and their object.
 * Other keys are kept; flat data and other events' data are returned as published.
 */
export function flatData(event: HooklineEvent): Record<string, unknown> | undefined {
  const data = event.data;
  if (event.type !== 'message.reply' || data === undefined || !isWhatsAppShape(data)) return data;
  const reply = readReply(data);
  const converted = reply.kind !== 'other' && reply.kind !== 'unsupported';
  const read = new Set(['from', 'id', 'context', 'timestamp', ...(converted ? ['type', reply.kind] : [])]);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(data)) if (!read.has(key)) out[key] = data[key];
  return Object.assign(out, {
    text: 'text' in reply ? reply.text : undefined,
    media: 'media' in reply ? { type: reply.kind, ...reply.media } : undefined,
    button: reply.kind === 'button' ? reply.button : undefined,
    interactive: reply.kind === 'interactive' ? reply.interactive : undefined,
    inReplyTo: reply.context?.id,
    from: reply.from,
    providerMessageId: reply.id,
  });
}
