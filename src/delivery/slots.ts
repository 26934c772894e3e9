// Delivery slots: how many requests one process has in flight to subscribers, shared by the
// delivery worker's jobs and the first attempts a fan-out makes itself (src/delivery/direct.ts),
// so DELIVERY_CONCURRENCY bounds both together. Waiters are served in arrival order.

interface Waiter {
  grant: () => void;
  live: boolean;
}

/** A wait that can be given up while it is still waiting. */
export interface SlotWait {
  /** True when it was still waiting (it never gets the slot); false when the slot was granted. */
  cancel(): boolean;
}

export class Slots {
  private free: number;
  private queue: Waiter[] = [];
  private head = 0;

  constructor(readonly size: number) {
    this.free = size;
  }

  /** Calls `grant` holding a slot: at once when one is free (and returns null), else in turn. */
  take(grant: () => void): SlotWait | null {
    if (this.free > 0) {
      this.free--;
      grant();
      return null;
    }
    const w: Waiter = { grant, live: true };
    this.queue.push(w);
    return {
      cancel: () => {
        if (!w.live) return false;
        w.live = false;
        return true;
      },
    };
  }

  /** Resolves holding a slot. */
  wait(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push({ grant: resolve, live: true }));
  }

  /** Gives a slot back: to the longest waiter still waiting, else to the pool. */
  release(): void {
    while (this.head < this.queue.length) {
      const w = this.queue[this.head++]!;
      if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (w.live) {
        w.live = false;
        w.grant();
        return;
      }
    }
    this.free++;
  }

  /** Slots free now (a snapshot, for metrics and tests). */
  get available(): number {
    return this.free;
  }

  /** Waiters still waiting (cancelled ones may be counted until they reach the front). */
  get waiting(): number {
    return this.queue.length - this.head;
  }
}
