// Fair turns to send (src/pipeline/send-turns.ts): a burst of one subscription takes turns with
// another's few, round-robin; turns come on a later event-loop turn, in slices, so that I/O
// arriving meanwhile is handled between them; nothing waits while the loop is idle.
import { describe, expect, it } from 'vitest';
import { createSendTurns } from '../../src/pipeline/send-turns.js';

/** Busy-waits `ms` (a caller's synchronous work: building, signing, writing its request). */
const work = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

/**
 * `count` callers, caller i of subscription `subOf(i)` doing `workMs` of work once given its
 * turn, beside something that arrives on the next event-loop turn (a Redis reply, another
 * tenant's response). Answers the order: `send<i>` per caller, `io` where the arrival ran.
 */
async function sendsBesideIo(sliceMs: number, count: number, subOf: (i: number) => string, workMs: number) {
  const turns = createSendTurns(sliceMs);
  const events: string[] = [];
  const sends = Array.from({ length: count }, (_, i) =>
    turns(subOf(i)).then(() => {
      work(workMs);
      events.push(`send${i}`);
    }),
  );
  const io = new Promise<void>((r) => setImmediate(() => setImmediate(() => r(void events.push('io')))));
  await Promise.all([...sends, io]);
  return events;
}

describe('send turns', () => {
  it("go round-robin: a burst's 20 and another subscription's 3 alternate, each in its own order", async () => {
    const turns = createSendTurns(10);
    const order: string[] = [];
    await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => turns('sub_a').then(() => order.push(`a${i}`))),
      ...Array.from({ length: 3 }, (_, i) => turns('sub_b').then(() => order.push(`b${i}`))),
    ]);
    expect(order.slice(0, 6)).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
    expect(order.filter((o) => o.startsWith('a'))).toEqual(Array.from({ length: 20 }, (_, i) => `a${i}`));
  });

  it('are never given in the turn that asks (a burst cannot run its sends in one stretch)', async () => {
    const turns = createSendTurns();
    let given = false;
    const p = turns('sub_a').then(() => (given = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(given).toBe(false);
    await p;
    expect(given).toBe(true);
  });

  it('hand the event loop back after a slice of the callers’ work: I/O in between is handled', async () => {
    // 30 callers of 0.5 ms each: about four per 2 ms slice.
    const io = (await sendsBesideIo(2, 30, () => 'sub_a', 0.5)).indexOf('io');
    expect(io).toBeGreaterThan(0);
    expect(io).toBeLessThan(20);
  });

  it('look at the clock within a round: 200 subscriptions of one turn each are sliced too', async () => {
    const events = await sendsBesideIo(2, 200, (i) => `sub_${i}`, 0.1);
    const io = events.indexOf('io');
    expect(io).toBeGreaterThan(0);
    expect(io).toBeLessThan(100);
    // Each subscription's turn came in the order asked.
    expect(events.filter((e) => e !== 'io')).toEqual(Array.from({ length: 200 }, (_, i) => `send${i}`));
  });

  it('give everything in one slice when the callers are quick', async () => {
    const events = await sendsBesideIo(50, 30, (i) => `sub_${i % 3}`, 0);
    expect(events.indexOf('io')).toBe(30);
  });
});
