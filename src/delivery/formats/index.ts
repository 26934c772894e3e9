// Chooses the payload builder for a subscription's `format` and encodes it for its method/encoding.
/**
 * What is signed (Standard Webhooks, `${webhook-id}.${webhook-timestamp}.${content}`):
 * - POST: content is the exact request body, byte for byte.
 * - GET: there is no body; content is the exact query string Hookline generates for the
 *   payload (`EncodedPayload.query`, URLSearchParams encoding, without the leading "?"). It is
 *   appended to the webhook URL unchanged: after "?", or after "&" when the URL already has a
 *   query, so it is always the trailing part of the request's raw query string. Receivers
 *   verify against the raw query string as received (before any decoding), minus their own
 *   URL's static parameters and the "&" that follows them, if any.
 */
import { isOperational, type HooklineEvent } from '../../domain/event.js';
import type { Format } from '../../domain/subscription.js';
import { encode } from './encode.js';
import { metaPayload } from './meta.js';
import { nativePayload } from './native.js';
import { operationalPayload } from './operational.js';
import { otpiqPayload } from './otpiq.js';
import { otplessPayload } from './otpless.js';
import { paramsPayload } from './params.js';
import type { EncodedPayload, FormatSubscription, PayloadBuilder } from './types.js';

export type { EncodedPayload, FormatSubscription } from './types.js';

const builders: Record<Format, PayloadBuilder> = {
  native: nativePayload,
  otpless: otplessPayload,
  otpiq: otpiqPayload,
  meta: metaPayload,
  params: paramsPayload,
};

export function encodePayload(event: HooklineEvent, sub: FormatSubscription): EncodedPayload {
  const build = isOperational(event.type) ? operationalPayload : (builders[sub.format] ?? nativePayload);
  return encode(build(event, sub), sub);
}
