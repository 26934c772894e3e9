// Encoders: a payload object to the exact bytes sent for the subscription's method and encoding.
//
// - GET: the payload flattened to dot-path parameters, URLSearchParams-encoded, as the query
//   string (no body). Flat payloads (params) keep their keys as they are.
// - POST json: JSON.stringify, application/json.
// - POST form: the same flattened parameters as an application/x-www-form-urlencoded body.
// - POST xml: the object as XML under a <webhook> root (see xml.ts), application/xml.
// Flattening loses types and empty objects/arrays: pick json when the exact structure matters.
import { flatten } from './flatten.js';
import type { EncodedPayload, FormatSubscription, Payload } from './types.js';
import { toXml } from './xml.js';

export const CONTENT_TYPES = {
  json: 'application/json',
  form: 'application/x-www-form-urlencoded',
  xml: 'application/xml',
} as const;

export const toQueryString = (payload: Payload): string => new URLSearchParams(flatten(payload)).toString();

export function encode(
  payload: Payload,
  sub: Pick<FormatSubscription, 'method' | 'encoding'>,
): EncodedPayload {
  if (sub.method === 'GET') {
    const query = toQueryString(payload);
    return { query, signedContent: query };
  }
  let body: string;
  switch (sub.encoding) {
    case 'form':
      body = toQueryString(payload);
      break;
    case 'xml':
      body = toXml(payload);
      break;
    default:
      body = JSON.stringify(payload);
  }
  return { body, contentType: CONTENT_TYPES[sub.encoding] ?? CONTENT_TYPES.json, signedContent: body };
}
