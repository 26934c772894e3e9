// Merging a list from the live store (Redis) and the history (PostgreSQL): newest first, no
// duplicates, and never past what a source that stopped early has shown.
import { describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../../src/domain/delivery-record.js';
import { decodeCursor, encodeCursor } from '../../../src/store/history/history-store.js';
import { mergePages } from '../../../src/store/history/reader.js';

const rec = (id: string, ms: number, status: DeliveryRecord['status'] = 'succeeded'): DeliveryRecord => ({
  id,
  eventId: 'e',
  subscriptionId: 's',
  tenantId: 't',
  target: 'subscription',
  status,
  createdAt: new Date(ms).toISOString(),
  updatedAt: new Date(ms).toISOString(),
  nextAttemptAt: null,
  attempts: [],
});

describe('mergePages', () => {
  it('interleaves newest first and cuts at the limit with a cursor at the last shown', () => {
    const live = { data: [rec('d5', 5000, 'pending'), rec('d2', 2000, 'retrying')], nextCursor: null };
    const stored = { data: [rec('d4', 4000), rec('d3', 3000), rec('d1', 1000)], nextCursor: null };
    const page = mergePages([live, stored], 3);
    expect(page.data.map((r) => r.id)).toEqual(['d5', 'd4', 'd3']);
    expect(decodeCursor(page.nextCursor!)).toEqual({ ms: 3000, id: 'd3' });
  });

  it('ends with a null cursor when every source is done and all fit', () => {
    const page = mergePages(
      [
        { data: [rec('a', 2)], nextCursor: null },
        { data: [rec('b', 1)], nextCursor: null },
      ],
      5,
    );
    expect(page).toMatchObject({ nextCursor: null });
    expect(page.data.map((r) => r.id)).toEqual(['a', 'b']);
  });

  it('shows a record in both stores once, the live one', () => {
    const page = mergePages(
      [
        { data: [rec('x', 10, 'succeeded')], nextCursor: null },
        { data: [rec('x', 10, 'failed')], nextCursor: null },
      ],
      5,
    );
    expect(page.data).toHaveLength(1);
    expect(page.data[0]!.status).toBe('succeeded');
  });

  it('shows nothing older than where a source stopped early, and resumes there', () => {
    const live = { data: [rec('l9', 9000)], nextCursor: encodeCursor({ ms: 7000, id: 'l7' }) };
    const stored = { data: [rec('p8', 8000), rec('p6', 6000), rec('p5', 5000)], nextCursor: null };
    const page = mergePages([live, stored], 10);
    expect(page.data.map((r) => r.id)).toEqual(['l9', 'p8']);
    expect(decodeCursor(page.nextCursor!)).toEqual({ ms: 7000, id: 'l7' });
  });

  it('breaks a tie on time by id, descending', () => {
    const page = mergePages(
      [
        { data: [rec('a', 1)], nextCursor: null },
        { data: [rec('b', 1)], nextCursor: null },
      ],
      5,
    );
    expect(page.data.map((r) => r.id)).toEqual(['b', 'a']);
  });
});
