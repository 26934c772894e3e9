// Chooses the payload builder for a subscription's `format` and encodes it for its method/encoding.
import type { HooklineEvent } from '../../domain/event.js';
import type { EncodedPayload, FormatSubscription, PayloadBuilder } from './types.js';
import { nativePayload } from './native.js';

export type { EncodedPayload, FormatSubscription } from './types.js';

const builders: Record<string, PayloadBuilder> = {
  native: nativePayload,
};

export function encodePayload(event: HooklineEvent, sub: FormatSubscription): EncodedPayload {
  const build = builders[sub.format] ?? nativePayload;
  const body = JSON.stringify(build(event, sub));
  return { body, contentType: 'application/json', signedContent: body };
}
