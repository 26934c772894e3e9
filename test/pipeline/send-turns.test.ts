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

describe('send turns', () => {
  it("go round-robin: a burst's 20 and another subscription's 3 alternate, each in its own order", async () => {
    const turns = createSendTurns(10);
    const order: string[] = [];
    const waits = [
      ...Array.from({ length: 20 }, (_, i) => turns('sub_a').then(() => order.push(`a${i}`))),
      ...Array.from({ length: 3 }, (_, i) => turns('sub_b').then(() => order.push(`b${i}`))),
    ];
    expect(turns.waiting).toBe(23);
    await Promise.all(waits);
    expect(order.slice(0, 6)).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
    expect(order.filter((o) => o.startsWith('a'))).toEqual(Array.from({ length: 20 }, (_, i) => `a${i}`));
    expect(turns.waiting).toBe(0);
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
    const turns = createSendTurns(2);
    const events: string[] = [];
    // 30 callers of 0.5 ms each: about four per 2 ms slice.
    const waits = Array.from({ length: 30 }, (_, i) =>
      turns('sub_a').then(() => {
        work(0.5);
        events.push(`send${i}`);
      }),
    );
    // Something that arrives on the next loop turn (a Redis reply, another tenant's response).
    setImmediate(() => setImmediate(() => events.push('io')));
    await Promise.all(waits);
    const io = events.indexOf('io');
    expect(io).toBeGreaterThan(0);
    expect(io).toBeLessThan(20);
  });

  it('look at the clock within a round: 200 subscriptions of one turn each are sliced too', async () => {
    const turns = createSendTurns(2);
    const events: string[] = [];
    const waits = Array.from({ length: 200 }, (_, i) =>
      turns(`sub_${i}`).then(() => {
        work(0.1);
        events.push(`send${i}`);
      }),
    );
    setImmediate(() => setImmediate(() => events.push('io')));
    await Promise.all(waits);
    const io = events.indexOf('io');
    expect(io).toBeGreaterThan(0);
    expect(io).toBeLessThan(100);
    // Each subscription's turn came in the order asked.
    expect(events.filter((e) => e !== 'io')).toEqual(Array.from({ length: 200 }, (_, i) => `send${i}`));
  });

  it('give everything in one slice when the callers are quick', async () => {
    const turns = createSendTurns(50);
    const events: string[] = [];
    const waits = Array.from({ length: 30 }, (_, i) => turns(`sub_${i % 3}`).then(() => events.push('send')));
    const io = new Promise<void>((r) => setImmediate(() => setImmediate(() => r(void events.push('io')))));
    await Promise.all([...waits, io]);
    expect(events.indexOf('io')).toBe(30);
  });
});
