// A first-in-first-out queue for the process's waiters (delivery slots, the fan-out's gates):
// Array.shift() moves every element, which a queue of thousands pays on each turn.
//
// A slot is cleared as its item is shifted: before, it was left for the next compaction (up to
// 1,024 items later), so what a waiter's closure reached stayed alive that long after its turn.

/** First in, first out, in O(1) amortised per item. */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  push(x: T): void {
    this.items.push(x);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      // Empty: start over in the same array (no copy).
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }

  /** Every item still queued, in order; the queue is left empty. */
  takeAll(): T[] {
    const all = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return all;
  }

  get length(): number {
    return this.items.length - this.head;
  }
}
