// `native` format (SPEC §6): {id, type, timestamp, data: {messageId, channel, status, isFinal, …}}.
import { isFinal, statusOf, type HooklineEvent } from '../../domain/event.js';

export function nativePayload(event: HooklineEvent) {
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
      ...event.data,
    },
  };
}
