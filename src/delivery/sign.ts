// Standard Webhooks signatures: v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { SigningSecret } from '../domain/subscription.js';
import { boundedMemo } from '../memo.js';

// Decoded keys of the secrets in use: a secret signs every delivery of its subscription.
const secretKey = boundedMemo<KeyObject>(10_000, (secret) =>
  createSecretKey(Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64')),
);

export function sign(secret: string, msgId: string, timestampSec: number, body: string): string {
  // The signed content is `${msgId}.${timestampSec}.${body}`, fed in two parts so the body
  // is not copied into a joined string first.
  const mac = createHmac('sha256', secretKey(secret))
    .update(`${msgId}.${timestampSec}.`)
    .update(body)
    .digest('base64');
  return `v1,${mac}`;
}

/** Every unexpired secret signs; during rotation the header holds several, space separated. */
export function signatureHeader(
  secrets: readonly SigningSecret[],
  msgId: string,
  timestampSec: number,
  body: string,
  now = Date.now(),
): string {
  return secrets
    .filter((s) => s.expiresAt === undefined || s.expiresAt > now)
    .map((s) => sign(s.secret, msgId, timestampSec, body))
    .join(' ');
}
