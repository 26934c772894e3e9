// tickBatcher: calls made in one event-loop turn reach one flush, in order, and each caller gets
// its own answer; `max` flushes at once; a failed flush fails its whole batch and only that one.
import { describe, expect, it, vi } from 'vitest';
import { tickBatcher } from '../../src/store/batcher.js';

/** Lets pending setImmediate callbacks (the batcher's turn end) run. */
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

const tenTimes = () => vi.fn(async (items: number[]) => items.map((i) => i * 10));

describe('tickBatcher', () => {
  it('hands calls made in one turn to one flush, in order, each caller getting its own result', async () => {
    const flush = tenTimes();
    const call = tickBatcher(flush);
    const pending = [call(1), call(2), call(3)];
    // Nothing goes out before the turn ends: later calls of the same turn can still join.
    expect(flush).not.toHaveBeenCalled();
    expect(await Promise.all(pending)).toEqual([10, 20, 30]);
    expect(flush.mock.calls).toEqual([[[1, 2, 3]]]);
  });

  it('makes a separate flush for calls made in different turns', async () => {
    const flush = tenTimes();
    const call = tickBatcher(flush);
    expect(await call(1)).toBe(10);
    const second = [call(2), call(3)];
    await nextTurn();
    const third = call(4);
    expect(await Promise.all([...second, third])).toEqual([20, 30, 40]);
    expect(flush.mock.calls).toEqual([[[1]], [[2, 3]], [[4]]]);
  });

  it('flushes as soon as `max` calls are waiting, without waiting for the turn to end', async () => {
    const flush = tenTimes();
    const call = tickBatcher(flush, 3);
    const full = [call(1), call(2)];
    expect(flush).not.toHaveBeenCalled();
    full.push(call(3));
    // Synchronously, in the same turn as the call that filled the batch.
    expect(flush.mock.calls).toEqual([[[1, 2, 3]]]);
    const rest = call(4);
    expect(await Promise.all([...full, rest])).toEqual([10, 20, 30, 40]);
    // The call after the full batch went out at the end of the turn, alone; no empty flush.
    expect(flush.mock.calls).toEqual([[[1, 2, 3]], [[4]]]);
  });

  it('rejects every call of a batch whose flush rejects, and the next batch works again', async () => {
    const boom = new Error('redis down');
    const flush = vi.fn(async (items: number[]) => {
      if (flush.mock.calls.length === 1) throw boom;
      return items.map((i) => i * 10);
    });
    const call = tickBatcher(flush);
    const failed = [call(1), call(2)].map((p) =>
      p.then(
        () => 'resolved',
        (err: unknown) => err,
      ),
    );
    expect(await Promise.all(failed)).toEqual([boom, boom]);
    expect(await Promise.all([call(3), call(4)])).toEqual([30, 40]);
    expect(flush.mock.calls).toEqual([[[1, 2]], [[3, 4]]]);
  });

  it('puts calls made while a flush is in flight into the next batch', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const flush = vi.fn(async (items: number[]) => {
      if (flush.mock.calls.length === 1) await gate;
      return items.map((i) => i * 10);
    });
    const call = tickBatcher(flush);
    const first = call(1);
    await nextTurn(); // the first batch is now flushing and stays so until released
    expect(flush.mock.calls).toEqual([[[1]]]);
    const second = call(2);
    expect(await second).toBe(20);
    release();
    expect(await first).toBe(10);
    expect(flush.mock.calls).toEqual([[[1]], [[2]]]);
  });

  it('rejects every call of a batch whose flush throws instead of rejecting, at the turn and at max', async () => {
    const boom = new Error('thrown');
    const atTurn = tickBatcher<number, number>(() => {
      throw boom;
    });
    const turn = [atTurn(1), atTurn(2)];
    await Promise.all(turn.map((p) => expect(p).rejects.toBe(boom)));

    const atMax = tickBatcher<number, number>(() => {
      throw boom;
    }, 2);
    const full = [atMax(1), atMax(2)];
    await Promise.all(full.map((p) => expect(p).rejects.toBe(boom)));
  });

  it('rejects a batch whose flush answers fewer results than calls', async () => {
    const short = tickBatcher<number, number>(async (items) => items.slice(1));
    const calls = [short(1), short(2)];
    await Promise.all(calls.map((p) => expect(p).rejects.toThrow(/answered 1 of 2/)));
  });
});
