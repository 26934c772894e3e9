// Delivery failure codes recorded on attempts; `retryable` decides retry vs. give up, in one place.

export type DeliveryErrorCode =
  | 'http_error' // non-2xx answer
  | 'timeout' // no complete answer within timeoutMs
  | 'connection_error' // DNS, refused, reset, TLS
  | 'ssrf_blocked' // resolved address is not allowed
  | 'oauth_token_error' // token endpoint failed or answered garbage
  | 'gone' // 410: subscription disabled
  | 'invalid_header' // a header name or value Hookline must not send (stored before validation existed)
  | 'request_error' // the request could not be built (bad config)
  | 'secret_unreadable'; // a stored secret does not decrypt (ENCRYPTION_KEY changed, damaged value)

export class DeliveryError extends Error {
  constructor(
    readonly code: DeliveryErrorCode,
    message: string,
    readonly options: {
      retryable?: boolean;
      statusCode?: number;
      retryAfterMs?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'DeliveryError';
  }
  get retryable(): boolean {
    return (
      this.options.retryable ??
      !['ssrf_blocked', 'gone', 'invalid_header', 'request_error', 'secret_unreadable'].includes(this.code)
    );
  }
}
