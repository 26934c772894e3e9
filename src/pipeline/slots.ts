// Delivery slots: how many requests one process has in flight to subscribers, shared by the
// delivery worker's jobs and the first attempts a fan-out makes itself (src/pipeline/direct.ts),
// so DELIVERY_CONCURRENCY bounds both together. They also keep the clock stall detection reads
// (src/pipeline/stall.ts): how long all have been busy.
//
// When none is free, waiters queue by key (the subscription id; `report` and `ops` are keys too)
// and a freed slot goes to the keys with waiters in turn (round-robin), so a subscription with
// thousands of deliveries waiting holds up another's next one by one slot turning over, not by
// all of them. Within a key, delivery jobs and direct attempts each wait in arrival order and
// take turns while both wait: a retry job fetched behind thousands of direct attempts of its own
// subscription is not stuck behind all of them either. Each grant is O(1) (amortised: a cancelled
// waiter, or a key whose waiters all cancelled, is skipped once when it reaches the front).

import { Fifo } from './fifo.js';

/** A wait that can be given up while it is still waiting. */
export interface SlotWait {
  /** True when it was still waiting (it never gets the slot); false when the slot was granted. */
  cancel(): boolean;
}

interface Waiter {
  grant: () => void;
  live: boolean;
}

/** One key's waiters: direct attempts and delivery jobs, each in arrival order. */
interface KeyWaiters {
  key: string;
  direct: Fifo<Waiter>;
  jobs: Fifo<Waiter>;
  jobsNext: boolean;
  /** In the turn order (Slots.turns). */
  queued: boolean;
}

export class Slots {
  private free: number;
  /** Keys with waiters (or with waiters that all cancelled: dropped when their turn comes). */
  private byKey = new Map<string, KeyWaiters>();
  /** Whose turn is next: keys in the order they wait, each put back at the end after its turn. */
  private turns = new Fifo<KeyWaiters>();
  /** Waiters in the lanes, cancelled ones included until they are shifted off. */
  private queued = 0;
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

  private enqueue(key: string, kind: 'direct' | 'jobs', w: Waiter): void {
    let k = this.byKey.get(key);
    if (!k) {
      k = { key, direct: new Fifo(), jobs: new Fifo(), jobsNext: true, queued: false };
      this.byKey.set(key, k);
    }
    k[kind].push(w);
    this.queued++;
    if (!k.queued) {
      k.queued = true;
      this.turns.push(k);
    }
  }

  /** A direct attempt for `key`: calls `grant` holding a slot, at once when one is free (returns null). */
  take(key: string, grant: () => void): SlotWait | null {
    if (this.free > 0) {
      this.acquire();
      grant();
      return null;
    }
    const w: Waiter = { grant, live: true };
    this.enqueue(key, 'direct', w);
    return {
      cancel: () => {
        if (!w.live) return false;
        w.live = false;
        return true;
      },
    };
  }

  /** A delivery job for `key`: resolves holding a slot. */
  wait(key: string): Promise<void> {
    if (this.free > 0) {
      this.acquire();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.enqueue(key, 'jobs', { grant: resolve, live: true }));
  }

  /** The next live waiter of `k`, its lanes taking turns (undefined when none is left). */
  private next(k: KeyWaiters): Waiter | undefined {
    const [first, second] = k.jobsNext ? [k.jobs, k.direct] : [k.direct, k.jobs];
    for (const lane of [first, second]) {
      for (let w = lane.shift(); w; w = lane.shift()) {
        this.queued--;
        if (!w.live) continue;
        k.jobsNext = lane === k.direct;
        return w;
      }
    }
    return undefined;
  }

  /** Gives a slot back: to the next waiter of the key whose turn it is, else to the pool. */
  release(): void {
    this.turnover = this.clock();
    for (let k = this.turns.shift(); k; k = this.turns.shift()) {
      const w = this.next(k);
      if (k.direct.length + k.jobs.length > 0) this.turns.push(k);
      else {
        k.queued = false;
        this.byKey.delete(k.key);
      }
      if (w) {
        w.live = false;
        w.grant();
        return;
      }
    }
    this.free++;
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
    return this.queued;
  }

  /** Keys with waiters (a snapshot, for tests and metrics). */
  get waitingKeys(): number {
    return this.byKey.size;
  }
}
