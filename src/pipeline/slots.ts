// Delivery slots: how many requests one process has in flight to subscribers, shared by the
// delivery worker's jobs and the first attempts a fan-out makes itself (src/pipeline/direct.ts),
// so DELIVERY_CONCURRENCY bounds both together. Each kind waits in its own arrival-order lane,
// and while both have waiters a freed slot goes to each lane in turn: a retry job fetched behind
// thousands of direct attempts waits for one slot to turn over, not for all of them. They also
// keep the clock stall detection reads (src/pipeline/stall.ts): how long all have been busy.

interface Waiter {
  grant: () => void;
  live: boolean;
}

/** A wait that can be given up while it is still waiting. */
export interface SlotWait {
  /** True when it was still waiting (it never gets the slot); false when the slot was granted. */
  cancel(): boolean;
}

/** Waiters in arrival order; cancelled ones are skipped when they reach the front. */
class Lane {
  private items: Waiter[] = [];
  private head = 0;

  push(w: Waiter): void {
    this.items.push(w);
  }

  /** The next live waiter, taken off the lane (undefined when none is left). */
  shift(): Waiter | undefined {
    while (this.head < this.items.length) {
      const w = this.items[this.head++]!;
      if (this.head >= 1024 && this.head * 2 >= this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (w.live) return w;
    }
    return undefined;
  }

  get length(): number {
    return this.items.length - this.head;
  }
}

export class Slots {
  private free: number;
  /** Fan-out direct attempts (take). */
  private direct = new Lane();
  /** Delivery jobs (wait). */
  private jobs = new Lane();
  private jobsNext = true;
  /** When a slot was last freed or the last free one taken (clock ms). */
  private turnover: number;

  constructor(
    readonly size: number,
    /** Monotonic clock, ms. */
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.free = size;
    this.turnover = clock();
  }

  private acquire(): void {
    if (--this.free === 0) this.turnover = this.clock();
  }

  /** A direct attempt: calls `grant` holding a slot, at once when one is free (returns null). */
  take(grant: () => void): SlotWait | null {
    if (this.free > 0) {
      this.acquire();
      grant();
      return null;
    }
    const w: Waiter = { grant, live: true };
    this.direct.push(w);
    return {
      cancel: () => {
        if (!w.live) return false;
        w.live = false;
        return true;
      },
    };
  }

  /** A delivery job: resolves holding a slot. */
  wait(): Promise<void> {
    if (this.free > 0) {
      this.acquire();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.jobs.push({ grant: resolve, live: true }));
  }

  /** Gives a slot back: to the next waiter, lanes taking turns, else to the pool. */
  release(): void {
    this.turnover = this.clock();
    const [first, second] = this.jobsNext ? [this.jobs, this.direct] : [this.direct, this.jobs];
    let w = first.shift();
    let lane = first;
    if (!w) {
      w = second.shift();
      lane = second;
    }
    if (!w) {
      this.free++;
      return;
    }
    this.jobsNext = lane === this.direct;
    w.live = false;
    w.grant();
  }

  /** How long every slot has been busy with none freed, ms (0 while one is free). */
  get fullForMs(): number {
    return this.free > 0 ? 0 : this.clock() - this.turnover;
  }

  /** Slots free now (a snapshot, for metrics and tests). */
  get available(): number {
    return this.free;
  }

  /** Waiters still waiting (cancelled ones may be counted until they reach the front). */
  get waiting(): number {
    return this.direct.length + this.jobs.length;
  }
}
