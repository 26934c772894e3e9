// The in-memory shortcut of the history writer (src/store/history/recent.ts): bounded by count and
// age, each record handed over once.
import { describe, expect, it } from 'vitest';
import type { HooklineEvent } from '../../../src/domain/event.js';
import { createRecentHistory } from '../../../src/store/history/recent.js';

const event = (id: string) => ({ id, tenantId: 't', type: 'message.sent', acceptedAt: 0 }) as HooklineEvent;

describe('recent history', () => {
  it('hands a record over once, and counts what it could not hand over', () => {
    const recent = createRecentHistory();
    recent.putRecord('dlv_1', { E: 'evt_1', s: 's' });
    expect(recent.takeRecord('dlv_1')).toEqual({ E: 'evt_1', s: 's' });
    expect(recent.takeRecord('dlv_1')).toBeUndefined();
    expect(recent.stats()).toMatchObject({ hits: 1, misses: 1, records: 0 });
  });

  it('keeps an event for its own entry and each of its deliveries, under its tenant', () => {
    const recent = createRecentHistory();
    recent.putEvent(event('evt_1'), 2, 100);
    expect(recent.takeEvent('other', 'evt_1')).toBeUndefined();
    expect(recent.takeEvent('t', 'evt_1')).toMatchObject({ event: { id: 'evt_1' }, written: false });
    recent.eventWritten('t', 'evt_1');
    expect(recent.takeEvent('t', 'evt_1', 2)).toMatchObject({ event: { id: 'evt_1' }, written: true });
    expect(recent.takeEvent('t', 'evt_1')).toBeUndefined();
    expect(recent.stats()).toMatchObject({ events: 0 });
  });

  it('drops the oldest entries past its bound', () => {
    const recent = createRecentHistory({ maxEntries: 3 });
    for (let i = 1; i <= 5; i++) {
      recent.putRecord(`dlv_${i}`, { i: String(i) });
      recent.putEvent(event(`evt_${i}`), 1, 100);
    }
    expect(recent.stats()).toMatchObject({ records: 3, events: 3 });
    expect(recent.takeRecord('dlv_2')).toBeUndefined();
    expect(recent.takeRecord('dlv_3')).toEqual({ i: '3' });
    expect(recent.takeEvent('t', 'evt_2')).toBeUndefined();
    expect(recent.takeEvent('t', 'evt_5')?.event.id).toBe('evt_5');
  });

  it('drops entries past their age, on the next write and on read', () => {
    let now = 1_000;
    const recent = createRecentHistory({ maxAgeMs: 100, now: () => now });
    recent.putRecord('dlv_old', {});
    recent.putEvent(event('evt_old'), 1, 100);
    now += 101;
    expect(recent.takeEvent('t', 'evt_old')).toBeUndefined();
    recent.putRecord('dlv_new', {});
    expect(recent.stats()).toMatchObject({ records: 1 });
    expect(recent.takeRecord('dlv_old')).toBeUndefined();
    expect(recent.takeRecord('dlv_new')).toEqual({});
  });

  it('does not grow with records handed over (their places in its queue are skipped)', () => {
    let now = 0;
    const recent = createRecentHistory({ maxEntries: 10, now: () => now });
    for (let i = 0; i < 5_000; i++) {
      recent.putRecord(`dlv_${i}`, {});
      expect(recent.takeRecord(`dlv_${i}`)).toEqual({});
      now++;
    }
    expect(recent.stats()).toMatchObject({ hits: 5_000, records: 0 });
    expect(recent.queued()).toBeLessThan(2_100);
  });

  it('counts the deliveries of an event put once per slice of its fan-out, and keeps what was written', () => {
    const recent = createRecentHistory();
    recent.putEvent(event('evt_1'), 50, 100);
    recent.eventWritten('t', 'evt_1');
    recent.putEvent(event('evt_1'), 20, 100);
    expect(recent.takeEvent('t', 'evt_1', 70)).toMatchObject({ written: true });
    expect(recent.takeEvent('t', 'evt_1')).toMatchObject({ event: { id: 'evt_1' } });
    expect(recent.takeEvent('t', 'evt_1')).toBeUndefined();
  });

  it('holds at most its bytes, and never an entry larger than its limit', () => {
    const recent = createRecentHistory({ maxBytes: 1_000, maxEntryBytes: 400 });
    recent.putEvent(event('evt_big'), 1, 401);
    recent.putRecord('dlv_big', { a: 'x'.repeat(400) });
    expect(recent.stats()).toMatchObject({ events: 0, records: 0, bytes: 0 });
    for (let i = 0; i < 10; i++) {
      recent.putEvent(event(`evt_${i}`), 1, 300);
      recent.putRecord(`dlv_${i}`, { a: 'x'.repeat(299) });
    }
    expect(recent.stats()).toMatchObject({ events: 3, records: 3, bytes: 1_800 });
    expect(recent.takeEvent('t', 'evt_6')).toBeUndefined();
    expect(recent.takeEvent('t', 'evt_9', 2)?.event.id).toBe('evt_9');
    expect(recent.takeRecord('dlv_9')).toBeDefined();
    expect(recent.stats()).toMatchObject({ events: 2, records: 2, bytes: 1_200 });
  });
});
