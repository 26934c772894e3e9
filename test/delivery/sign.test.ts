import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import {
  createSecretBox,
  isUnreadable,
  mask,
  newSigningSecret,
  safeEqual,
  secretContext,
} from '../../src/crypto.js';
import { signatureHeader } from '../../src/delivery/sign.js';
import { sealV1 } from '../helpers/legacy.js';

describe('Standard Webhooks signatures', () => {
  const secret = newSigningSecret();
  const body = '{"id":"evt_1","type":"message.sent"}';
  const ts = Math.floor(Date.now() / 1000);

  it('verifies with the standardwebhooks library', () => {
    const headers = {
      'webhook-id': 'evt_1',
      'webhook-timestamp': String(ts),
      'webhook-signature': signatureHeader([{ secret }], 'evt_1', ts, body),
    };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it('fails when one thing is broken', () => {
    const sig = signatureHeader([{ secret }], 'evt_1', ts, body);
    const ok = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(ts), 'webhook-signature': sig };
    expect(() => new Webhook(secret).verify(body + ' ', ok)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...ok, 'webhook-id': 'evt_2' })).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...ok, 'webhook-timestamp': String(ts + 1) })).toThrow();
    expect(() => new Webhook(newSigningSecret()).verify(body, ok)).toThrow();
  });

  it('signs with old and new secrets during rotation, and drops expired ones', () => {
    const next = newSigningSecret();
    const now = Date.now();
    const both = signatureHeader(
      [{ secret: next }, { secret, expiresAt: now + 1000 }],
      'evt_1',
      ts,
      body,
      now,
    );
    expect(both.split(' ')).toHaveLength(2);
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(ts), 'webhook-signature': both };
    expect(() => new Webhook(secret).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(next).verify(body, headers)).not.toThrow();
    const later = signatureHeader(
      [{ secret: next }, { secret, expiresAt: now + 1000 }],
      'evt_1',
      ts,
      body,
      now + 2000,
    );
    expect(later.split(' ')).toHaveLength(1);
  });
});

describe('secrets at rest', () => {
  const key = Buffer.alloc(32, 9).toString('base64');
  const box = createSecretBox(key);
  const here = secretContext('event', 'tenant-a', 'evt_1', 'deliveryReport.webhookSecret');
  it('round-trips, never stores plaintext, and detects tampering', () => {
    const sealed = box.encrypt('hunter2-password', here);
    expect(sealed).toMatch(/^enc:v2:/);
    expect(sealed).not.toContain('hunter2');
    expect(box.encrypt('hunter2-password', here)).not.toBe(sealed);
    expect(box.decrypt(sealed, here)).toBe('hunter2-password');
    // Flip one bit of the ciphertext's bytes (editing base64 text can land in its unused bits).
    const [iv, tag, ct] = sealed.slice('enc:v2:'.length).split('.');
    const flipped = Buffer.from(ct!, 'base64url');
    flipped[0]! ^= 1;
    const tampered = `enc:v2:${iv}.${tag}.${flipped.toString('base64url')}`;
    expect(() => box.decrypt(tampered, here)).toThrow();
    // A truncated tag is refused (GCM would accept one as short as 4 bytes).
    const short = `enc:v2:${iv}.${Buffer.from(tag!, 'base64url').subarray(0, 4).toString('base64url')}.${ct}`;
    expect(() => box.decrypt(short, here)).toThrow();
  });
  it('always encrypts: a value that looks encrypted is a plain string, never trusted as ciphertext', () => {
    const sealed = box.encrypt('report-secret', here);
    for (const again of [box.encrypt(sealed, here), box.seal(sealed, here)]) {
      expect(again).not.toBe(sealed);
      expect(box.decrypt(again, here)).toBe(sealed);
    }
    const v1 = sealV1(key, 'report-secret');
    expect(box.decrypt(box.encrypt(v1, here), here)).toBe(v1);
  });
  it('binds a ciphertext to its tenant, record and field: moved, it does not decrypt', () => {
    const sealed = box.encrypt('report-secret', here);
    for (const elsewhere of [
      secretContext('event', 'tenant-b', 'evt_1', 'deliveryReport.webhookSecret'),
      secretContext('event', 'tenant-a', 'evt_2', 'deliveryReport.webhookSecret'),
      secretContext('sub', 'tenant-a', 'sub_1', '/bearer/token'),
    ]) {
      expect(() => box.decrypt(sealed, elsewhere)).toThrow();
      expect(isUnreadable(box.open(sealed, elsewhere))).toBe(true);
    }
    // The parts are not run together: ('a:b', 'c') is not ('a', 'b:c').
    expect(secretContext('sub', 'a:b', 'c')).not.toBe(secretContext('sub', 'a', 'b:c'));
  });
  it('reads enc:v1: values written by 0.3 (no additional data) in any context', () => {
    const v1 = sealV1(key, 'legacy-secret');
    expect(box.decrypt(v1, here)).toBe('legacy-secret');
    expect(box.open(v1, secretContext('sub', 't', 'sub_1', '/basic/password'))).toBe('legacy-secret');
    expect(() => createSecretBox(Buffer.alloc(32, 8).toString('base64')).decrypt(v1, here)).toThrow();
  });
  it('open marks what it cannot decrypt; seal writes that back as it was; mask shows it unreadable', () => {
    for (const stored of ['enc:v2:AAAA.BBBB.CCCC', 'enc:v2:garbage', 'plain-value', '']) {
      expect(() => box.decrypt(stored, here), stored).toThrow();
      const opened = box.open(stored, here);
      expect(isUnreadable(opened), stored).toBe(true);
      expect(box.open(opened, here)).toBe(opened);
      expect(box.seal(opened, here)).toBe(stored);
      expect(mask(opened)).toBe('(unreadable)');
    }
    expect(box.open(box.seal('fine', here), here)).toBe('fine');
  });
  it('masks to at most 4 characters', () => {
    expect(mask('abcdefghijklmnop')).toBe('abcd****');
    expect(mask('short')).toBe('****');
    expect(safeEqual('a', 'a')).toBe(true);
    expect(safeEqual('a', 'b')).toBe(false);
  });
});
