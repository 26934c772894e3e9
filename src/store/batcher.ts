// Coalesces calls made during one turn of the event loop into one call with all of them.
// Concurrent deliveries finish in the same turn (their responses arrive together), so their
// Redis writes and reads go out as one scripted command instead of one command each.
//
// Light groups first (issue 18): when a turn holds a heavy group (a subscription with many
// calls, say a 50-event burst of one tenant) beside light ones (another tenant's few), the light
// groups are flushed first, as a call of their own. Their command is written first and answered
// before the heavy one's script has run, and their callers go on (to their HTTP requests) before
// the heavy group's do; the heavy group waits for a command of a few items. A turn of one group,
// or of heavy groups only (a throughput run), is still one flush.

export interface TickBatcherOptions<I> {
  /** Flushed as soon as this many calls wait (default 500). */
  max?: number;
  /** The group of a call (a subscription): enables light groups first. */
  groupOf?: (item: I) => string;
  /** A group with more calls than this in a turn is heavy (default 8). */
  lightMax?: number;
}

/**
 * Returns a function whose calls are queued and handed to `flush` together, on setImmediate
 * or as soon as `max` are waiting. `flush` answers one result per item, in order; if it throws,
 * every call of that batch rejects with the error. With `groupOf`, a turn's light groups may be
 * handed to `flush` as a call of their own, before the rest (each part in call order).
 */
export function tickBatcher<I, O>(
  flush: (items: I[]) => Promise<O[]>,
  options: number | TickBatcherOptions<I> = {},
): (item: I) => Promise<O> {
  const opts = typeof options === 'number' ? { max: options } : options;
  const max = opts.max ?? 500;
  const lightMax = opts.lightMax ?? 8;
  type Waiting = { item: I; resolve: (o: O) => void; reject: (err: unknown) => void };
  let waiting: Waiting[] = [];
  let scheduled = false;

  const send = (batch: Waiting[]) => {
    // A flush that throws instead of rejecting still rejects its whole batch (and nothing else).
    new Promise<O[]>((resolve) => resolve(flush(batch.map((b) => b.item))))
      .then((out) => {
        if (out.length !== batch.length) throw new Error(`flush answered ${out.length} of ${batch.length}`);
        batch.forEach((b, i) => b.resolve(out[i]!));
      })
      .catch((err: unknown) => batch.forEach((b) => b.reject(err)));
  };

  const run = () => {
    const batch = waiting;
    waiting = [];
    if (batch.length === 0) return;
    const parts =
      opts.groupOf && batch.length > lightMax ? lightFirst(batch, opts.groupOf, lightMax) : [batch];
    for (const part of parts) send(part);
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

/** [light calls, heavy calls] when a turn has both (each in call order); else [batch]. */
function lightFirst<W extends { item: I }, I>(
  batch: W[],
  groupOf: (item: I) => string,
  lightMax: number,
): W[][] {
  const counts = new Map<string, number>();
  const groups = batch.map((b) => {
    const g = groupOf(b.item);
    counts.set(g, (counts.get(g) ?? 0) + 1);
    return g;
  });
  if (counts.size < 2) return [batch];
  const light: W[] = [];
  const heavy: W[] = [];
  batch.forEach((b, i) => (counts.get(groups[i]!)! > lightMax ? heavy : light).push(b));
  return light.length > 0 && heavy.length > 0 ? [light, heavy] : [batch];
}
