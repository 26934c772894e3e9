// The `data` of a message.reply (SPEC §2) comes in one of two shapes:
// - WhatsApp's own message object, recognised by its `type`, as a system forwarding Meta's
//   webhook has it: {type, from, id, context: {from, id}, text: {body} | image | video | audio |
//   document | sticker: {id, mime_type, sha256, caption, filename, animated, voice} | button: {payload,
//   text} | interactive: {type, button_reply | list_reply: {id, title, description}}}.
//   The keys Hookline reads are checked here; other keys (timestamp…) are allowed and ignored.
// - Hookline's flat shape (no `type`): {text, media: {type, id, url, mimeType, sha256, caption,
//   filename, animated, voice}, button, interactive: {type, id, title, description}, inReplyTo, from},
//   free-form as it has always been.
// Both may carry profileName, providerMessageId, wabaId and phoneNumberId (see the meta format).
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import type { FieldError } from './errors.js';
import { schemaErrorsOf } from './schema-errors.js';

export const MEDIA_KINDS = ['image', 'video', 'audio', 'document', 'sticker'] as const;
export type MediaKind = (typeof MEDIA_KINDS)[number];

/** Reply types Hookline reads in every format; other WhatsApp types are passed on as published. */
export const REPLY_KINDS = ['text', ...MEDIA_KINDS, 'button', 'interactive'] as const;
export type ReplyKind = (typeof REPLY_KINDS)[number];

/** Interactive replies Hookline renders: a reply button or a list row was chosen. */
export const CHOICE_KINDS = ['button_reply', 'list_reply'] as const;
export type ChoiceKind = (typeof CHOICE_KINDS)[number];

const Short = Type.Optional(Type.String({ maxLength: 256 }));
const Long = Type.Optional(Type.String());

const MediaSchema = Type.Object({
  id: Short,
  mime_type: Short,
  sha256: Short,
  caption: Long,
  filename: Type.Optional(Type.String({ maxLength: 1024 })),
  animated: Type.Optional(Type.Boolean()),
  voice: Type.Optional(Type.Boolean()),
  url: Type.Optional(Type.String({ maxLength: 2048 })),
});

const ChoiceSchema = Type.Object({ id: Short, title: Short, description: Long });

export const WhatsAppMessageSchema = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 64 }),
  from: Short,
  id: Short,
  context: Type.Optional(Type.Object({ from: Short, id: Type.String({ minLength: 1, maxLength: 256 }) })),
  text: Type.Optional(Type.Object({ body: Type.String() })),
  image: Type.Optional(MediaSchema),
  video: Type.Optional(MediaSchema),
  audio: Type.Optional(MediaSchema),
  document: Type.Optional(MediaSchema),
  sticker: Type.Optional(MediaSchema),
  button: Type.Optional(Type.Object({ payload: Long, text: Long })),
  interactive: Type.Optional(
    Type.Object({
      type: Type.String({ minLength: 1, maxLength: 64 }),
      button_reply: Type.Optional(ChoiceSchema),
      list_reply: Type.Optional(ChoiceSchema),
    }),
  ),
});
export type WhatsAppMessage = Static<typeof WhatsAppMessageSchema>;

const compiled = Compile(WhatsAppMessageSchema);

export const isReplyKind = (type: string): type is ReplyKind =>
  (REPLY_KINDS as readonly string[]).includes(type);
export const isMediaKind = (type: string): type is MediaKind =>
  (MEDIA_KINDS as readonly string[]).includes(type);
export const isChoiceKind = (type: string): type is ChoiceKind =>
  (CHOICE_KINDS as readonly string[]).includes(type);

/** Problems in a reply's data, paths under `base` (the data's own path); the flat shape has none. */
export function replyDataErrors(data: Record<string, unknown>, base: string): FieldError[] {
  if (data.type === undefined) return [];
  const errors = schemaErrorsOf(compiled, data, base);
  if (errors.length > 0) return errors;
  const message = data as WhatsAppMessage;
  // The object named by `type` must be there: {type: "image"} alone says nothing.
  if (isReplyKind(message.type) && message[message.type] === undefined) {
    errors.push({ path: `${base}/${message.type}`, message: `is required when type is "${message.type}"` });
  }
  const interactive = message.interactive;
  if (
    message.type === 'interactive' &&
    interactive &&
    isChoiceKind(interactive.type) &&
    interactive[interactive.type] === undefined
  ) {
    errors.push({
      path: `${base}/interactive/${interactive.type}`,
      message: `is required when interactive.type is "${interactive.type}"`,
    });
  }
  return errors;
}
