// Standard Webhooks signatures: v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>.
import { createHmac } from 'node:crypto';
import type { SigningSecret } from '../domain/subscription.js';

function secretBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}

export function sign(secret: string, msgId: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', secretBytes(secret))
    .update(`${msgId}.${timestampSec}.${body}`)
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
