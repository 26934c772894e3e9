// A first-in-first-out queue for the process's waiters (delivery slots, the fan-out's gates):
// Array.shift() moves every element, which a queue of thousands pays on each turn.

/** First in, first out, in O(1) amortised per item. */
export class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  push(x: T): void {
    this.items.push(x);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head++];
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }

  /** Every item still queued, in order; the queue is left empty. */
  takeAll(): T[] {
    const all = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return all;
  }

  get length(): number {
    return this.items.length - this.head;
  }
}
