// `native` format (SPEC §6): {id, type, timestamp, data: {messageId, channel, status, isFinal, …}}.
// Also the shape other formats fall back to for events their provider has no webhook for.
// A reply published in WhatsApp's message shape is carried in the flat shape (reply.ts).
import { isFinal, statusOf, type HooklineEvent } from '../../domain/event.js';
import { flatData } from './reply.js';
import type { Payload } from './types.js';

export function nativePayload(event: HooklineEvent): Payload {
  return {
    id: event.id,
    type: event.type,
    timestamp: event.occurredAt,
    data: {
      messageId: event.messageId,
      channel: event.channel,
      status: statusOf(event.type),
      isFinal: isFinal(event.type),
      sender: event.sender,
      recipient: event.recipient,
      subProduct: event.subProduct,
      error: event.error,
      ...flatData(event),
    },
  };
}
