// Secrets at rest: AES-256-GCM with a random IV per value; constant-time comparisons.
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual, createHash } from 'node:crypto';

const PREFIX = 'enc:v1:';

export interface SecretBox {
  encrypt(plain: string): string;
  decrypt(sealed: string): string;
  /** Encrypts unless already sealed (idempotent). */
  seal(value: string): string;
  /** Decrypts a sealed value; a plain one is returned as it is. */
  open(value: string): string;
}

export const isSealed = (value: string): boolean => value.startsWith(PREFIX);

export function createSecretBox(base64Key: string): SecretBox {
  const key = Buffer.from(base64Key, 'base64');
  if (key.length !== 32) throw new Error('ENCRYPTION_KEY must be 32 bytes');
  const box: SecretBox = {
    seal: (value) => (isSealed(value) ? value : box.encrypt(value)),
    open: (value) => (isSealed(value) ? box.decrypt(value) : value),
    encrypt(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return `${PREFIX}${iv.toString('base64url')}.${tag.toString('base64url')}.${ct.toString('base64url')}`;
    },
    decrypt(sealed) {
      if (!sealed.startsWith(PREFIX)) throw new Error('value is not encrypted');
      const [iv, tag, ct] = sealed.slice(PREFIX.length).split('.');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv!, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct!, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    },
  };
  return box;
}

/** Compares two secrets without leaking their length or content through timing. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** At most the first 4 characters, then `****` (shorter secrets show nothing). */
export function mask(secret: string | undefined | null): string {
  if (!secret) return '****';
  return secret.length >= 12 ? `${secret.slice(0, 4)}****` : '****';
}

export function newSigningSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}
