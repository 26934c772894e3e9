// `otpiq` format (SPEC §6, seed 002): flat {smsId, deliveryReport, isFinal, channel, status,
// reason?, senderId?} with lower-case channel and status.
//
// Where the seed is silent:
// - deliveryReport echoes the report type ("all" | "final") of the subscription, else of the
//   event's own deliveryReport; "all" by default.
// - OTPIQ only documents sent/delivered/failed; read and clicked are sent as "read" and
//   "clicked" with isFinal false (SPEC §2: only delivered and failed are final).
// - reason (failed only) is the provider error's reason, else its title, else its code.
// - OTPIQ has no reply, template or auth webhooks: those events are sent in the native shape.
import { isFinal, statusOf, type HooklineEvent } from '../../domain/event.js';
import { nativePayload } from './native.js';
import type { FormatSubscription, Payload } from './types.js';

export function otpiqPayload(event: HooklineEvent, sub: FormatSubscription): Payload {
  const status = statusOf(event.type);
  if (!status) return nativePayload(event);
  const error = event.error;
  return {
    smsId: event.messageId,
    deliveryReport: sub.reportType ?? event.deliveryReport?.reportType ?? 'all',
    isFinal: isFinal(event.type),
    channel: event.channel,
    status,
    reason: status === 'failed' && error ? (error.reason ?? error.title ?? String(error.code)) : undefined,
    senderId: event.sender,
  };
}
