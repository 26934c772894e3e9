// `params` format (SPEC §6, seed 003): flat string parameters a DLR/MO panel would send,
// named by the subscription's fieldNames, plus its customParams.
//
// Where the seed is silent:
// - transactionId is the event id (unique per event, equal to the webhook-id header).
// - Times are RFC 3339 UTC. The event's occurredAt fills deliveredTime for message.delivered,
//   readTime for message.read and receivedTime for every other event (the moment the report,
//   reply or auth event was received).
// - Values use Hookline's vocabulary: status "delivered", channel "whatsapp", eventType
//   "message.delivered"; errorCode is the provider code as a string.
// - Values are strings in every encoding (JSON and XML too), so all encodings carry the same data.
// - event.data is added flattened with dot paths (reply `text`, `media.url`, `button.payload`,
//   fallback `fromChannel`, approval `token`…): an MO webhook without the reply is useless.
// - On a name clash the named fields win, then customParams, then event.data.
import type { HooklineEvent } from '../../domain/event.js';
import { statusOf } from '../../domain/event.js';
import type { ParamField } from '../../domain/subscription.js';
import { flatten } from './flatten.js';
import type { FormatSubscription } from './types.js';

export function paramsPayload(event: HooklineEvent, sub: FormatSubscription): Record<string, string> {
  // A prototype-less object: data keys such as "__proto__" are plain keys here.
  const out = Object.create(null) as Record<string, string>;
  const names = sub.fieldNames ?? {};
  const set = (field: ParamField, value: string | undefined) => {
    if (value !== undefined) out[names[field] ?? field] = value;
  };
  const at = event.occurredAt;
  set('transactionId', event.id);
  set('messageId', event.messageId);
  set('errorCode', event.error === undefined ? undefined : String(event.error.code));
  set('mobile', event.recipient);
  set('receivedTime', event.type !== 'message.delivered' && event.type !== 'message.read' ? at : undefined);
  set('deliveredTime', event.type === 'message.delivered' ? at : undefined);
  set('readTime', event.type === 'message.read' ? at : undefined);
  set('status', statusOf(event.type));
  set('channel', event.channel);
  set('eventType', event.type);
  const custom = sub.customParams ?? {};
  for (const [key, value] of flatten(event.data)) {
    if (!(key in out) && !Object.hasOwn(custom, key)) out[key] = value;
  }
  for (const key of Object.keys(custom)) {
    if (!(key in out)) out[key] = custom[key]!;
  }
  return out;
}
