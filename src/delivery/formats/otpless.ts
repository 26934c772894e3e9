// `otpless` format (SPEC §6, seeds 000/001): DLR and AUTH as {data, eventType, timestamp},
// approval as the flat APPROVAL_ACTION payload. Statuses and channels in capitals, epoch ms.
//
// Where the seeds are silent:
// - timestamp is always epoch milliseconds (001's AUTH example shows 10 digits, its other
//   examples and 000's approval show ms; 000's prose says "ISO 8601" but its example is ms).
// - FAILED DLRs add data.errorCode (the provider code as a string, e.g. "033", OTPLESS's own
//   codes are strings) and data.errorMessage (error title, else reason).
// - The DLR follows 001 (requestId), not 000's older {status, data: {referenceId, identity}}.
// - auth.success through email puts {channel: ["EMAIL"], email} under authenticationDetails.email
//   and leaves phone {}; phone numbers are split into national number and "+CC".
// - auth.approval token defaults to the requestId (as in 000's example, where they are equal).
// - OTPLESS has no reply or template webhooks: those events are sent in the native shape.
import { statusOf, type HooklineEvent } from '../../domain/event.js';
import { nativePayload } from './native.js';
import { splitPhone } from './phone.js';
import type { Payload } from './types.js';
import { epochMs, stringOf, upper } from './values.js';

export function otplessPayload(event: HooklineEvent): Payload {
  const timestamp = epochMs(event.occurredAt);
  const status = statusOf(event.type);
  if (status) {
    const error = event.error;
    return {
      data: {
        requestId: event.messageId,
        status: status.toUpperCase(),
        channel: upper(event.channel),
        errorCode: error ? String(error.code) : undefined,
        errorMessage: error ? (error.title ?? error.reason) : undefined,
      },
      eventType: 'DLR',
      timestamp,
    };
  }
  const data = event.data ?? {};
  switch (event.type) {
    case 'auth.success':
      return {
        data: {
          requestId: event.messageId,
          status: 'SUCCESS',
          authenticationDetails: authenticationDetails(event),
        },
        eventType: 'AUTH',
        timestamp,
      };
    case 'auth.fallback':
      return {
        data: {
          requestId: event.messageId,
          status: 'FALLBACK',
          fromChannel: upper(data.fromChannel),
          toChannel: upper(data.toChannel),
        },
        eventType: 'AUTH',
        timestamp,
      };
    case 'auth.approval':
      return {
        token: stringOf(data.token) ?? event.messageId,
        timestamp,
        mobile: { number: event.recipient },
        requestId: event.messageId,
        notificationType: 'APPROVAL_ACTION',
      };
    default:
      return nativePayload(event);
  }
}

function authenticationDetails(event: HooklineEvent) {
  const channel = event.channel ? [event.channel.toUpperCase()] : undefined;
  const recipient = event.recipient;
  if (event.channel === 'email' || recipient?.includes('@')) {
    return { phone: {}, email: { channel: channel ?? ['EMAIL'], email: recipient } };
  }
  const phone = recipient === undefined ? undefined : splitPhone(recipient);
  return { phone: { channel, phoneNumber: phone?.phoneNumber, countryCode: phone?.countryCode }, email: {} };
}
