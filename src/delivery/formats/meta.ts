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
// - Replies (data in WhatsApp's message shape or the flat one, read by reply.ts) are rendered
//   as 004's reply examples show them, key order included: messages[] {context?, from, id,
//   timestamp, type, <type object>} (a text's `text` before `type`), changes[] {value, field}.
//   Sender is the business number and recipient the user who replied: messages[].from is
//   data.from, else the recipient; contacts[].wa_id the recipient, else data.from;
//   data.profileName fills contacts[].profile.name; context.from defaults to the sender;
//   messages[].id is data.id (WhatsApp shape) or data.providerMessageId, else the messageId.
//   Media objects keep Meta's names (mime_type…); a flat `url` is a Hookline extra (Meta sends
//   ids only) and flat text alongside media becomes its caption. Other WhatsApp types
//   (location, contacts, reaction…) are passed on as published; data Hookline cannot read
//   becomes type "unsupported", as Meta does.
// - Failed statuses carry errors [{code, title, error_data?: {details}, href}]: code as an integer
//   when it is one, href defaulting to Meta's error-code page, error_data.details = reason.
// - message.clicked is a status "clicked" (Meta has none; the envelope stays the same).
// - message.template mirrors the send request Insider forwards for templates:
//   {key, messaging_product, to, type: "template", template, content, timestamp} from data.
// - Meta has no auth webhooks: auth.* events are sent in the native shape.
import { statusOf, type HooklineEvent } from '../../domain/event.js';
import { nativePayload } from './native.js';
import { readReply, type Reply, type ReplyMedia } from './reply.js';
import type { Payload } from './types.js';
import { epochSecondsString, stringOf } from './values.js';

const ERROR_CODES_HREF = 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/';
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
  const head = {
    messaging_product: 'whatsapp',
    metadata: {
      display_phone_number: event.sender,
      phone_number_id: stringOf(data.phoneNumberId) ?? event.sender,
    },
  };
  // 004's reply examples put `value` first, its status example `field`.
  const change =
    event.type === 'message.reply'
      ? { value: { ...head, ...replyValue(event, data, timestamp) }, field: 'messages' }
      : { field: 'messages', value: { ...head, statuses: [statusObject(event, data, timestamp)] } };
  return {
    key: event.messageId,
    object: 'whatsapp_business_account',
    entry: [{ id: stringOf(data.wabaId) ?? event.sender, changes: [change] }],
  };
}

function statusObject(event: HooklineEvent, data: Record<string, unknown>, timestamp: string) {
  return {
    id: stringOf(data.providerMessageId) ?? event.messageId,
    recipient_id: event.recipient,
    status: statusOf(event.type),
    timestamp,
    errors: event.error ? [metaError(event.error)] : undefined,
  };
}

function replyValue(event: HooklineEvent, data: Record<string, unknown>, timestamp: string) {
  const reply = readReply(data);
  return {
    contacts: [{ profile: profileOf(data), wa_id: event.recipient ?? reply.from }],
    messages: [replyMessage(event, reply, timestamp)],
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

function replyMessage(event: HooklineEvent, reply: Reply, timestamp: string) {
  const head = {
    context: reply.context && { from: reply.context.from ?? event.sender, id: reply.context.id },
    from: reply.from ?? event.recipient,
    id: reply.id ?? event.messageId,
    timestamp,
  };
  switch (reply.kind) {
    case 'text':
      return { ...head, text: { body: reply.text }, type: 'text' };
    case 'button':
      return { ...head, type: 'button', button: { payload: reply.button.payload, text: reply.button.text } };
    case 'interactive': {
      const { type, id, title, description } = reply.interactive;
      return { ...head, type: 'interactive', interactive: { type, [type]: { id, title, description } } };
    }
    case 'other':
      return { ...head, type: reply.type, [reply.type]: reply.content };
    case 'unsupported':
      return { ...head, type: 'unsupported' };
    default:
      return { ...head, type: reply.kind, [reply.kind]: mediaObject(reply.media, reply.text) };
  }
}

/** Meta's media object, in the order of 004's examples (a caption first, as Meta documents it). */
function mediaObject(media: ReplyMedia, text: string | undefined) {
  return {
    caption: media.caption ?? text,
    filename: media.filename,
    mime_type: media.mimeType,
    sha256: media.sha256,
    id: media.id,
    url: media.url,
    animated: media.animated,
    voice: media.voice,
  };
}
