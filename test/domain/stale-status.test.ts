// Stale-status suppression's pure rules (src/domain/stale-status.ts): which statuses rank, what a
// delivered status supersedes, which types take part, and the mark field of a report destination.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { reportMarkField, staleRank, supersedeLevel, takesPart } from '../../src/domain/stale-status.js';

const OTHERS = [
  'message.clicked',
  'message.reply',
  'message.template',
  'auth.success',
  'subscription.disabled',
  'delivery.exhausted',
  'nope',
];

describe('stale-status', () => {
  it('ranks sent below delivered; nothing else can be superseded', () => {
    expect(staleRank('message.sent')).toBe(1);
    expect(staleRank('message.delivered')).toBe(2);
    for (const t of ['message.read', 'message.failed', ...OTHERS]) expect(staleRank(t), t).toBeUndefined();
  });

  it('delivered and failed supersede up to rank 2 (a pending sent), read supersedes both', () => {
    expect(supersedeLevel('message.delivered')).toBe(2);
    expect(supersedeLevel('message.failed')).toBe(2);
    expect(supersedeLevel('message.read')).toBe(3);
    for (const t of ['message.sent', ...OTHERS]) expect(supersedeLevel(t), t).toBeUndefined();
    // A delivered failed supersedes a sent but not a delivered: both are final.
    expect(supersedeLevel('message.failed')! > staleRank('message.sent')!).toBe(true);
    expect(supersedeLevel('message.failed')! > staleRank('message.delivered')!).toBe(false);
    expect(supersedeLevel('message.read')! > staleRank('message.delivered')!).toBe(true);
  });

  it('only sent, delivered, read and failed take part', () => {
    for (const t of ['message.sent', 'message.delivered', 'message.read', 'message.failed']) {
      expect(takesPart(t), t).toBe(true);
    }
    for (const t of OTHERS) expect(takesPart(t), t).toBe(false);
  });

  it('names a report destination by a 16-character digest of tenant and URL', () => {
    const field = reportMarkField('tnt_a', 'https://r.example.com/dlr');
    const digest = createHash('sha256').update('tnt_a\nhttps://r.example.com/dlr').digest('base64url');
    expect(field).toBe(`report:${digest.slice(0, 16)}`);
    expect(field).toMatch(/^report:[A-Za-z0-9_-]{16}$/);
    expect(reportMarkField('tnt_a', 'https://r.example.com/dlr')).toBe(field);
  });

  it('keeps tenants and URLs apart, however a key splits them', () => {
    const a = reportMarkField('a:b', 'c');
    expect(reportMarkField('a', 'b:c')).not.toBe(a);
    expect(reportMarkField('tnt_b', 'https://r.example.com/dlr')).not.toBe(
      reportMarkField('tnt_a', 'https://r.example.com/dlr'),
    );
    expect(reportMarkField('tnt_a', 'https://r.example.com/other')).not.toBe(
      reportMarkField('tnt_a', 'https://r.example.com/dlr'),
    );
  });
});
