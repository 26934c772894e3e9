// `meta` format (SPEC §6, seed 004): the WhatsApp Cloud API webhook envelope as Insider One
// forwards it: {key, object, entry: [{id, changes: [{field: "messages", value}]}]}, where value
// holds `statuses` (sent/delivered/read/failed) or `contacts` + `messages` (user replies).
// Timestamps are epoch seconds as strings; snake_case throughout.
//
// Where the seed is silent (Hookline events carry no Meta ids):
// - key is the event's messageId; statuses[].id / messages[].id use data.providerMessageId
//   (the wamid) when the publisher sends it, else the messageId.
// - entry[].id (the WABA id) and metadata.phone_number_id use data.wabaId / data.phoneNumberId,
//   else the sender number; display_phone_number is the sender. (004's field table says
//   display_phone_number_id; its examples, like Meta, say phone_number_id: examples win.)
// - For replies, sender is the business number and recipient the user who replied, so
//   messages[].from and contacts[].wa_id are the recipient; data.profileName fills
//   contacts[].profile.name, data.inReplyTo adds messages[].context.
// - Reply content from data: button {text, payload} → type "button"; media {type, id, url,
//   mimeType, sha256, caption, filename, animated} → type image|video|audio|document|sticker
//   (text alongside media becomes its caption; `url` is a Hookline extra, Meta sends ids only);
//   text → type "text"; anything else → type "unsupported", as Meta does.
// - Failed statuses carry errors [{code, title, error_data?: {details}, href}]: code as an integer
//   when it is one, href defaulting to Meta's error-code page, error_data.details = reason.
// - message.clicked is a status "clicked" (Meta has none; the envelope stays the same).
// - message.template mirrors the send request Insider forwards for templates:
//   {key, messaging_product, to, type: "template", template, content, timestamp} from data.
// - Meta has no auth webhooks: auth.* events are sent in the native shape.
import { statusOf, type HooklineEvent } from '../../domain/event.js';
import { nativePayload } from './native.js';
import type { Payload } from './types.js';
import { epochSecondsString, recordOf, stringOf } from './values.js';

const ERROR_CODES_HREF = 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/';
const MEDIA_TYPES = new Set(['image', 'video', 'audio', 'document', 'sticker']);
const INTEGER = /^-?(0|[1-9]\d{0,14})$/;

export function metaPayload(event: HooklineEvent): Payload {
  if (event.type.startsWith('auth.')) return nativePayload(event);
  const data = event.data ?? {};
  const timestamp = epochSecondsString(event.occurredAt);
  if (event.type === 'message.template') {
    return {
      key: event.messageId,
      messaging_product: 'whatsapp',
      to: event.recipient,
      type: 'template',
      template: data.template,
      content: data.content,
      timestamp,
    };
  }
  const id = stringOf(data.providerMessageId) ?? event.messageId;
  const metadata = {
    display_phone_number: event.sender,
    phone_number_id: stringOf(data.phoneNumberId) ?? event.sender,
  };
  const value =
    event.type === 'message.reply'
      ? {
          messaging_product: 'whatsapp',
          metadata,
          contacts: [{ profile: profileOf(data), wa_id: event.recipient }],
          messages: [replyMessage(event, data, id, timestamp)],
        }
      : {
          messaging_product: 'whatsapp',
          metadata,
          statuses: [
            {
              id,
              recipient_id: event.recipient,
              status: statusOf(event.type),
              timestamp,
              errors: event.error ? [metaError(event.error)] : undefined,
            },
          ],
        };
  return {
    key: event.messageId,
    object: 'whatsapp_business_account',
    entry: [{ id: stringOf(data.wabaId) ?? event.sender, changes: [{ field: 'messages', value }] }],
  };
}

function metaError(error: NonNullable<HooklineEvent['error']>) {
  const code = INTEGER.test(String(error.code)) ? Number(error.code) : error.code;
  const withDetails = error.title !== undefined && error.reason !== undefined;
  return {
    code,
    title: error.title ?? error.reason,
    error_data: withDetails ? { details: error.reason } : undefined,
    href: error.href ?? ERROR_CODES_HREF,
  };
}

function profileOf(data: Record<string, unknown>) {
  const name = stringOf(data.profileName);
  return name === undefined ? undefined : { name };
}

function replyMessage(
  event: HooklineEvent,
  data: Record<string, unknown>,
  id: string | undefined,
  timestamp: string,
) {
  const inReplyTo = stringOf(data.inReplyTo);
  const head = {
    context: inReplyTo === undefined ? undefined : { from: event.sender, id: inReplyTo },
    from: event.recipient,
    id,
    timestamp,
  };
  const text = stringOf(data.text);
  const button = recordOf(data.button);
  if (button)
    return {
      ...head,
      type: 'button',
      button: { payload: stringOf(button.payload), text: stringOf(button.text) },
    };
  const media = recordOf(data.media);
  if (media) {
    const type = String(media.type);
    if (!MEDIA_TYPES.has(type)) return { ...head, type: 'unsupported' };
    return { ...head, type, [type]: mediaObject(media, text) };
  }
  if (text !== undefined) return { ...head, text: { body: text }, type: 'text' };
  return { ...head, type: 'unsupported' };
}

function mediaObject(media: Record<string, unknown>, text: string | undefined) {
  return {
    filename: stringOf(media.filename),
    mime_type: stringOf(media.mimeType),
    sha256: stringOf(media.sha256),
    id: stringOf(media.id),
    url: stringOf(media.url),
    caption: stringOf(media.caption) ?? text,
    animated: typeof media.animated === 'boolean' ? media.animated : undefined,
  };
}
