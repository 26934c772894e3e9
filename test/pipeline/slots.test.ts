// Slots: grants at once while slots are free; else keys (subscriptions) with waiters take turns,
// and within a key, in arrival order per lane (take: direct attempts, wait: jobs), the lanes
// taking turns; a cancelled waiter is skipped; thousands of waiters (past queue compaction) each
// get one grant.
import { describe, expect, it, vi } from 'vitest';
import { Slots } from '../../src/pipeline/slots.js';

/** Lets pending promise callbacks run. */
const flush = () => new Promise<void>((r) => setImmediate(r));

describe('Slots', () => {
  it('grants synchronously and returns null while slots are free', () => {
    const slots = new Slots(2);
    const grant = vi.fn();
    expect(slots.take('k', grant)).toBeNull();
    expect(grant).toHaveBeenCalledTimes(1);
    expect(slots.available).toBe(1);
    expect(slots.take('k', grant)).toBeNull();
    expect(grant).toHaveBeenCalledTimes(2);
    expect(slots.available).toBe(0);
    expect(slots.waiting).toBe(0);
  });

  it('queues when full and grants waiters in arrival order, then returns slots to the pool', () => {
    const slots = new Slots(1);
    const order: string[] = [];
    slots.take('k', () => order.push('first'));
    expect(slots.take('k', () => order.push('a'))).not.toBeNull();
    expect(slots.take('k', () => order.push('b'))).not.toBeNull();
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
    slots.take('k', () => {});
    const gone = vi.fn();
    const next = vi.fn();
    const cancelled = slots.take('k', gone)!;
    const granted = slots.take('k', next)!;
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
    await slots.wait('k');
    expect(slots.available).toBe(0);
    const order: string[] = [];
    for (const k of ['a', 'b', 'c']) slots.take('k', () => order.push(k));
    void slots.wait('k').then(() => order.push('job 1'));
    void slots.wait('k').then(() => order.push('job 2'));
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
    slots.take('k', () => {});
    const granted: number[] = [];
    for (let i = 0; i < 5000; i++) slots.take('k', () => granted.push(i));
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
    slots.take('k', () => {});
    const granted: number[] = [];
    const handles = Array.from({ length: 3000 }, (_, i) => slots.take('k', () => granted.push(i))!);
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

  it('hands freed slots to the keys with waiters in turn, each key in arrival order', () => {
    const slots = new Slots(1);
    slots.take('a', () => {});
    const order: string[] = [];
    for (let i = 1; i <= 4; i++) slots.take('a', () => order.push(`a${i}`));
    for (let i = 1; i <= 2; i++) slots.take('b', () => order.push(`b${i}`));
    slots.take('c', () => order.push('c1'));
    expect(slots.waitingKeys).toBe(3);

    for (let i = 0; i < 3; i++) slots.release();
    expect(order).toEqual(['a1', 'b1', 'c1']);
    // A key that starts waiting now takes its turn after those already waiting, not after all of a's.
    slots.take('d', () => order.push('d1'));
    for (let i = 0; i < 4; i++) slots.release();
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'd1', 'a3']);
    slots.release();
    expect(order.at(-1)).toBe('a4');
    expect(slots.waiting).toBe(0);
    expect(slots.waitingKeys).toBe(0); // no key left behind
    slots.release();
    expect(slots.available).toBe(1);
  });

  it('a trickle key waits for one turnover while a flood key has 10,000 waiters (FIFO would make it wait for all)', () => {
    const slots = new Slots(4);
    for (let i = 0; i < 4; i++) slots.take('flood', () => {});
    let flooded = 0;
    for (let i = 0; i < 10_000; i++) slots.take('flood', () => flooded++);
    for (let round = 0; round < 50; round++) {
      let got = false;
      slots.take('trickle', () => (got = true));
      slots.release(); // the flood's turn or the trickle's …
      if (!got) slots.release(); // … the trickle's at the latest
      expect(got).toBe(true);
      for (let i = 0; i < 10; i++) slots.release(); // the flood goes on meanwhile
    }
    expect(flooded).toBeGreaterThanOrEqual(500);
    expect(flooded).toBeLessThanOrEqual(550);
  });

  it('skips a key whose waiters all cancelled within the same release, and forgets it', () => {
    const slots = new Slots(1);
    slots.take('a', () => {});
    const order: string[] = [];
    const b = [slots.take('b', () => order.push('b1'))!, slots.take('b', () => order.push('b2'))!];
    slots.take('c', () => order.push('c1'));
    slots.take('b', () => order.push('b3'))!.cancel();
    b.forEach((w) => w.cancel());
    expect(slots.waitingKeys).toBe(2);

    slots.release();
    expect(order).toEqual(['c1']);
    expect(slots.waitingKeys).toBe(0);
    expect(slots.waiting).toBe(0);
    slots.release();
    expect(slots.available).toBe(1);
  });

  it('jobs and direct attempts of one key take turns, and each key gets one grant per round', async () => {
    const slots = new Slots(1);
    await slots.wait('a');
    const order: string[] = [];
    for (const n of [1, 2, 3]) slots.take('a', () => order.push(`a direct ${n}`));
    void slots.wait('a').then(() => order.push('a job'));
    void slots.wait('b').then(() => order.push('b job'));
    slots.take('b', () => order.push('b direct'));
    for (let i = 0; i < 6; i++) {
      slots.release();
      await flush();
    }
    expect(order).toEqual(['a job', 'b job', 'a direct 1', 'b direct', 'a direct 2', 'a direct 3']);
  });

  it('fullForMs counts from the last slot taken or freed while all are busy (stall detection)', async () => {
    let t = 0;
    const slots = new Slots(2, () => t);
    slots.take('k', () => {});
    t = 10;
    expect(slots.fullForMs).toBe(0); // one free
    await slots.wait('k'); // the last free one, at 10
    t = 50;
    expect(slots.fullForMs).toBe(40);
    slots.take('k', () => {}); // waits: nothing turned over
    t = 70;
    expect(slots.fullForMs).toBe(60);
    slots.release(); // handed to the waiter: still all busy, but one turned over
    t = 75;
    expect(slots.fullForMs).toBe(5);
    slots.release();
    expect(slots.fullForMs).toBe(0);
  });
});
