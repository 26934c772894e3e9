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

describe('tickBatcher, light groups first', () => {
  type Call = { sub: string; n: number };
  const bySub = { groupOf: (c: Call) => c.sub };
  const echo = () => vi.fn(async (items: Call[]) => items.map((c) => `${c.sub}${c.n}`));
  const calls = (sub: string, count: number) => Array.from({ length: count }, (_, n) => ({ sub, n }));

  it('flushes a light group (≤ lightMax calls) before a heavy one of the same turn, as a call of its own', async () => {
    const flush = echo();
    const call = tickBatcher(flush, bySub);
    // The heavy group's calls come first, as a burst's do when its fan-out started first.
    const items = [...calls('a', 10), ...calls('b', 2), ...calls('c', 3)];
    const answers = await Promise.all(items.map(call));
    expect(answers).toEqual(items.map((c) => `${c.sub}${c.n}`));
    expect(flush.mock.calls.map(([batch]) => batch.map((c) => `${c.sub}${c.n}`))).toEqual([
      ['b0', 'b1', 'c0', 'c1', 'c2'],
      calls('a', 10).map((c) => `a${c.n}`),
    ]);
  });

  it("resolves the light group's callers before the heavy group's", async () => {
    const order: string[] = [];
    const call = tickBatcher(echo(), bySub);
    const items = [...calls('a', 12), { sub: 'b', n: 0 }];
    await Promise.all(items.map((c) => call(c).then((r) => order.push(r))));
    expect(order[0]).toBe('b0');
  });

  it('keeps one flush for a single group, heavy groups only, or light groups only', async () => {
    for (const items of [
      calls('a', 20),
      [...calls('a', 9), ...calls('b', 9)],
      [...calls('a', 3), ...calls('b', 4)],
    ]) {
      const flush = echo();
      const call = tickBatcher(flush, bySub);
      await Promise.all(items.map(call));
      expect(flush).toHaveBeenCalledTimes(1);
      expect(flush.mock.calls[0]![0]).toEqual(items);
    }
  });

  it('honours lightMax, and rejects only the part whose flush fails', async () => {
    const boom = new Error('heavy part failed');
    const flush = vi.fn(async (items: Call[]) => {
      if (items.some((c) => c.sub === 'a')) throw boom;
      return items.map((c) => `${c.sub}${c.n}`);
    });
    const call = tickBatcher(flush, { ...bySub, lightMax: 2 });
    const heavy = calls('a', 3).map(call);
    const light = calls('b', 2).map(call);
    expect(await Promise.all(light)).toEqual(['b0', 'b1']);
    await Promise.all(heavy.map((p) => expect(p).rejects.toBe(boom)));
    expect(flush).toHaveBeenCalledTimes(2);
  });
});
