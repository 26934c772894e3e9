// Slots: grants at once while slots are free, else in arrival order per lane (take: direct
// attempts, wait: jobs), the lanes taking turns; a cancelled waiter is skipped; thousands of
// waiters (past queue compaction) each get one grant.
import { describe, expect, it, vi } from 'vitest';
import { Slots } from '../../src/pipeline/slots.js';

/** Lets pending promise callbacks run. */
const flush = () => new Promise<void>((r) => setImmediate(r));

describe('Slots', () => {
  it('grants synchronously and returns null while slots are free', () => {
    const slots = new Slots(2);
    const grant = vi.fn();
    expect(slots.take(grant)).toBeNull();
    expect(grant).toHaveBeenCalledTimes(1);
    expect(slots.available).toBe(1);
    expect(slots.take(grant)).toBeNull();
    expect(grant).toHaveBeenCalledTimes(2);
    expect(slots.available).toBe(0);
    expect(slots.waiting).toBe(0);
  });

  it('queues when full and grants waiters in arrival order, then returns slots to the pool', () => {
    const slots = new Slots(1);
    const order: string[] = [];
    slots.take(() => order.push('first'));
    expect(slots.take(() => order.push('a'))).not.toBeNull();
    expect(slots.take(() => order.push('b'))).not.toBeNull();
    expect(order).toEqual(['first']);
    expect(slots.waiting).toBe(2);

    slots.release();
    expect(order).toEqual(['first', 'a']);
    slots.release();
    expect(order).toEqual(['first', 'a', 'b']);
    expect(slots.available).toBe(0);
    expect(slots.waiting).toBe(0);

    slots.release(); // no one waiting: back to the pool
    expect(slots.available).toBe(1);
  });

  it('skips a cancelled waiter, and cancel after the grant returns false', () => {
    const slots = new Slots(1);
    slots.take(() => {});
    const gone = vi.fn();
    const next = vi.fn();
    const cancelled = slots.take(gone)!;
    const granted = slots.take(next)!;
    expect(cancelled.cancel()).toBe(true);
    expect(cancelled.cancel()).toBe(false); // already given up

    slots.release();
    expect(gone).not.toHaveBeenCalled();
    expect(next).toHaveBeenCalledTimes(1);
    expect(granted.cancel()).toBe(false);
    expect(slots.available).toBe(0);

    slots.release();
    expect(gone).not.toHaveBeenCalled();
    expect(slots.available).toBe(1);
  });

  it('resolves wait() at once when free; when full, jobs (wait) and direct attempts (take) take turns', async () => {
    const slots = new Slots(1);
    await slots.wait();
    expect(slots.available).toBe(0);
    const order: string[] = [];
    for (const k of ['a', 'b', 'c']) slots.take(() => order.push(k));
    void slots.wait().then(() => order.push('job 1'));
    void slots.wait().then(() => order.push('job 2'));
    expect(slots.waiting).toBe(5);
    await flush();
    expect(order).toEqual([]);

    for (let i = 0; i < 5; i++) {
      slots.release();
      await flush();
    }
    // Jobs fetched behind three direct attempts wait for one turnover each, not for all three.
    expect(order).toEqual(['job 1', 'a', 'job 2', 'b', 'c']);
    expect(slots.waiting).toBe(0);
    expect(slots.available).toBe(0);
  });

  it('grants each of 5,000 waiters exactly once, in order, across queue compaction', () => {
    const slots = new Slots(1);
    slots.take(() => {});
    const granted: number[] = [];
    for (let i = 0; i < 5000; i++) slots.take(() => granted.push(i));
    expect(slots.waiting).toBe(5000);

    for (let i = 0; i < 5000; i++) slots.release();
    expect(granted).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(slots.waiting).toBe(0);
    expect(slots.available).toBe(0);
    slots.release();
    expect(slots.available).toBe(1);
  });

  it('skips over 1,024 cancelled waiters in one release and keeps the rest in order', () => {
    const slots = new Slots(1);
    slots.take(() => {});
    const granted: number[] = [];
    const handles = Array.from({ length: 3000 }, (_, i) => slots.take(() => granted.push(i))!);
    // Cancel all but every 1,500th, so one release crosses the compaction threshold mid-loop.
    handles.forEach((h, i) => {
      if (i % 1500 !== 0) h.cancel();
    });

    slots.release();
    slots.release();
    expect(granted).toEqual([0, 1500]);
    expect(slots.waiting).toBe(1499);
    slots.release(); // only cancelled ones left: to the pool
    expect(granted).toEqual([0, 1500]);
    expect(slots.waiting).toBe(0);
    expect(slots.available).toBe(1);
  });

  it('fullForMs counts from the last slot taken or freed while all are busy (stall detection)', async () => {
    let t = 0;
    const slots = new Slots(2, () => t);
    slots.take(() => {});
    t = 10;
    expect(slots.fullForMs).toBe(0); // one free
    await slots.wait(); // the last free one, at 10
    t = 50;
    expect(slots.fullForMs).toBe(40);
    slots.take(() => {}); // waits: nothing turned over
    t = 70;
    expect(slots.fullForMs).toBe(60);
    slots.release(); // handed to the waiter: still all busy, but one turned over
    t = 75;
    expect(slots.fullForMs).toBe(5);
    slots.release();
    expect(slots.fullForMs).toBe(0);
  });
});
