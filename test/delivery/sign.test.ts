import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { newSigningSecret, createSecretBox, mask, safeEqual } from '../../src/crypto.js';
import { signatureHeader } from '../../src/delivery/sign.js';

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
  const box = createSecretBox(Buffer.alloc(32, 9).toString('base64'));
  it('round-trips, never stores plaintext, and detects tampering', () => {
    const sealed = box.encrypt('hunter2-password');
    expect(sealed).not.toContain('hunter2');
    expect(box.encrypt('hunter2-password')).not.toBe(sealed);
    expect(box.decrypt(sealed)).toBe('hunter2-password');
    const tampered = sealed.slice(0, -2) + (sealed.endsWith('A') ? 'BB' : 'AA');
    expect(() => box.decrypt(tampered)).toThrow();
  });
  it('seals idempotently and opens sealed or plain values', () => {
    const sealed = box.seal('report-secret');
    expect(sealed).not.toContain('report-secret');
    expect(box.seal(sealed)).toBe(sealed);
    expect(box.open(sealed)).toBe('report-secret');
    expect(box.open('plain-value')).toBe('plain-value');
  });
  it('masks to at most 4 characters', () => {
    expect(mask('abcdefghijklmnop')).toBe('abcd****');
    expect(mask('short')).toBe('****');
    expect(safeEqual('a', 'a')).toBe(true);
    expect(safeEqual('a', 'b')).toBe(false);
  });
});
