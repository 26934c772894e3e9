// Coalesces calls made during one turn of the event loop into one call with all of them.
// Concurrent deliveries finish in the same turn (their responses arrive together), so their
// Redis writes and reads go out as one scripted command instead of one command each.

/**
 * Returns a function whose calls are queued and handed to `flush` together, on setImmediate
 * or as soon as `max` are waiting. `flush` answers one result per item, in order; if it throws,
 * every call of that batch rejects with the error.
 */
export function tickBatcher<I, O>(flush: (items: I[]) => Promise<O[]>, max = 500): (item: I) => Promise<O> {
  let waiting: { item: I; resolve: (o: O) => void; reject: (err: unknown) => void }[] = [];
  let scheduled = false;

  const run = () => {
    const batch = waiting;
    waiting = [];
    if (batch.length === 0) return;
    // A flush that throws instead of rejecting still rejects its whole batch (and nothing else).
    new Promise<O[]>((resolve) => resolve(flush(batch.map((b) => b.item))))
      .then((out) => {
        if (out.length !== batch.length) throw new Error(`flush answered ${out.length} of ${batch.length}`);
        batch.forEach((b, i) => b.resolve(out[i]!));
      })
      .catch((err: unknown) => batch.forEach((b) => b.reject(err)));
  };
  const onTick = () => {
    scheduled = false;
    run();
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (waiting.length >= max) run();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(onTick);
      }
    });
}
