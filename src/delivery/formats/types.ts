// The contract between payload formats and the delivery request builder.
import type { HooklineEvent } from '../../domain/event.js';
import type { Subscription } from '../../domain/subscription.js';

/**
 * The subscription fields a format may read. `reportType` is optional so callers may pass a
 * bare format config; the otpiq format echoes it as `deliveryReport`.
 */
export type FormatSubscription = Pick<
  Subscription,
  'format' | 'method' | 'encoding' | 'fieldNames' | 'customParams'
> &
  Partial<Pick<Subscription, 'reportType'>>;

/** What a format produces: the exact bytes to send and where they go. */
export interface EncodedPayload {
  /** Request body (exact bytes as a UTF-8 string), absent for GET. */
  body?: string;
  /** Content type of the body. */
  contentType?: string;
  /** Query string to append to the webhook URL (without "?"), for GET delivery. */
  query?: string;
  /** The exact string that is signed (body for POST; the query string for GET). */
  signedContent: string;
}

/** A payload before encoding: a JSON-like object (undefined members are dropped by every encoder). */
export type Payload = Record<string, unknown>;

export type PayloadBuilder = (event: HooklineEvent, sub: FormatSubscription) => Payload;
