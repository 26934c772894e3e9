// Secrets at rest: AES-256-GCM with a random IV per value, each ciphertext bound to the place
// it is stored (tenant, record, field) as additional data; constant-time comparisons.
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual, createHash } from 'node:crypto';

const V2 = 'enc:v2:';
/** 0.3 and before: no additional data. Still read (records written then), never written. */
const V1 = 'enc:v1:';
/** A stored value that could not be decrypted, kept as it was stored behind this mark. */
const UNREADABLE = '\u0000unreadable\u0000';

/**
 * The additional data of a ciphertext: where it is stored, e.g. `('event', tenant, eventId,
 * 'deliveryReport.webhookSecret')`. A ciphertext copied to another tenant, record or field
 * does not decrypt there.
 */
export const secretContext = (...parts: string[]): string => JSON.stringify(parts);

export interface SecretBox {
  /** Always encrypts: a value that looks encrypted already is a string like any other. */
  encrypt(plain: string, context: string): string;
  /**
   * The plaintext of a value `encrypt` wrote for the same context (or of a 0.3 `enc:v1:` value).
   * Throws otherwise: wrong context, another key, damaged or not encrypted at all.
   */
  decrypt(stored: string, context: string): string;
  /** For stored records: decrypt, or the stored value marked unreadable (`isUnreadable`); never throws. */
  open(stored: string, context: string): string;
  /** For stored records: encrypt, except that a value `open` marked unreadable is written back as it was. */
  seal(value: string, context: string): string;
}

/** True for a value in one of Hookline's ciphertext formats (v1 from 0.3, v2 bound to its field). */
export const isSealed = (value: string): boolean => value.startsWith(V2) || value.startsWith(V1);

/** True for a secret that `open` could not decrypt: it is never sent, and shown as unreadable. */
export const isUnreadable = (value: string): boolean => value.startsWith(UNREADABLE);

export function createSecretBox(base64Key: string): SecretBox {
  const key = Buffer.from(base64Key, 'base64');
  if (key.length !== 32) throw new Error('ENCRYPTION_KEY must be 32 bytes');
  const box: SecretBox = {
    encrypt(plain, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return `${V2}${iv.toString('base64url')}.${tag.toString('base64url')}.${ct.toString('base64url')}`;
    },
    decrypt(stored, context) {
      const v2 = stored.startsWith(V2);
      if (!v2 && !stored.startsWith(V1)) throw new Error('value is not encrypted');
      const parts = stored.slice((v2 ? V2 : V1).length).split('.');
      if (parts.length !== 3) throw new Error('value is not an encrypted secret');
      const [iv, tag, ct] = parts.map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer];
      if (iv.length !== 12 || tag.length !== 16) throw new Error('value is not an encrypted secret');
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      if (v2) decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
    },
    open(stored, context) {
      if (isUnreadable(stored)) return stored;
      try {
        return box.decrypt(stored, context);
      } catch {
        return `${UNREADABLE}${stored}`;
      }
    },
    seal: (value, context) =>
      isUnreadable(value) ? value.slice(UNREADABLE.length) : box.encrypt(value, context),
  };
  return box;
}

/** Compares two secrets without leaking their length or content through timing. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** What a response shows of a secret that cannot be decrypted. */
export const UNREADABLE_MASK = '(unreadable)';

/** At most the first 4 characters, then `****` (shorter secrets show nothing). */
export function mask(secret: string | undefined | null): string {
  if (!secret) return '****';
  if (isUnreadable(secret)) return UNREADABLE_MASK;
  return secret.length >= 12 ? `${secret.slice(0, 4)}****` : '****';
}

export function newSigningSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}
