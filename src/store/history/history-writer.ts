// Moves history from the Redis outbox into PostgreSQL, off the delivery path: a batch of entries,
// one write (one statement), then the entries leave the outbox. While PostgreSQL is unreachable
// the entries stay in Redis, the backlog shows as a metric and a log line, and the writer retries
// with backoff until every one has landed. An entry PostgreSQL refuses as data (not as an outage)
// is isolated by halving its batch and kept in the dead-letter stream.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../logger.js';
import type { HistoryBatch, HistoryStore } from './history-store.js';
import type { HistoryMover, MoveRef } from './mover.js';
import type { HistoryOutbox, OutboxEntry } from './outbox.js';

export interface HistoryWriterOptions {
  store: Pick<HistoryStore, 'write'>;
  outbox: HistoryOutbox;
  /** Entries per write. Default 500. */
  batchSize?: number;
  /** Wait after a short batch before looking again (the batching delay). Default 200 ms. */
  intervalMs?: number;
  /** Entries another writer holds unwritten this long are taken over. Default 30 s. */
  claimIdleMs?: number;
  /** Longest wait between retries while PostgreSQL fails. Default 5 s. */
  maxBackoffMs?: number;
  /** How often the backlog is logged while writes fail. Default 10 s. */
  logEveryMs?: number;
  logger?: Logger;
  /** Registry for the hookline_history_* metrics (the instance's, `metrics.registry`). */
  registry?: Registry;
  /** Consumer name in the outbox's group. Default: host, pid and a random tag. */
  consumer?: string;
  /**
   * Runs after each successful write, before its entries leave the outbox: where the pipeline
   * drops the Redis copies of records now in PostgreSQL (so a record is readable in one place or
   * the other at every moment). If it fails, the entries are written again later.
   */
  onWritten?: (batch: HistoryBatch) => Promise<void>;
  /**
   * Resolves reference entries (`x`, `v`: records that ended in Redis) into records before the
   * write, and drops their Redis copies after it. Without it such entries are dead letters.
   */
  mover?: Pick<HistoryMover, 'resolve' | 'drop'>;
}

/** SQLSTATE classes that mean the data itself is refused: data exception, integrity violation. */
const DATA_ERROR = /^(22|23)/;

/**
 * An error that retrying the same entries cannot fix: the data was refused, or could not be
 * encoded. Anything else (connection refused or lost, timeouts, shutdown) is an outage.
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return DATA_ERROR.test(code);
  return err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError;
}

function toBatch(entries: OutboxEntry[]): Required<HistoryBatch> & { moved: MoveRef[] } {
  const batch: Required<HistoryBatch> & { moved: MoveRef[] } = { events: [], deliveries: [], moved: [] };
  for (const { item } of entries) {
    if (!item) continue;
    if ('event' in item) batch.events.push(item.event);
    else if ('delivery' in item) batch.deliveries.push(item.delivery);
    else batch.moved.push(item.moved);
  }
  return batch;
}

export function createHistoryWriter(opts: HistoryWriterOptions) {
  const { store, outbox, logger } = opts;
  const batchSize = opts.batchSize ?? 500;
  const intervalMs = opts.intervalMs ?? 200;
  const claimIdleMs = opts.claimIdleMs ?? 30_000;
  const maxBackoffMs = opts.maxBackoffMs ?? 5_000;
  const logEveryMs = opts.logEveryMs ?? 10_000;
  const consumer = opts.consumer ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const registers = opts.registry ? [opts.registry] : [];

  let backlog = 0;
  new Gauge({
    name: 'hookline_history_backlog',
    help: 'History records waiting in Redis for PostgreSQL, as this process last saw them',
    registers,
    collect() {
      this.set(backlog);
    },
  });
  const written = new Counter({
    name: 'hookline_history_written_total',
    help: 'History records written to PostgreSQL',
    labelNames: ['kind'],
    registers,
  });
  const failures = new Counter({
    name: 'hookline_history_write_failures_total',
    help: 'Failed history writes (each is retried; records wait in Redis)',
    registers,
  });
  const dead = new Counter({
    name: 'hookline_history_dead_letters_total',
    help: 'History records PostgreSQL refused as data, kept in the dead-letter stream',
    registers,
  });

  /** Entries this consumer read and has not written yet: read again first. */
  let holding = false;
  let lastClaim = 0;
  let failingSince: number | undefined;
  let lastLog = 0;

  /** Writes entries; data errors are narrowed down to the entries at fault, which are set aside. */
  async function writeOrIsolate(entries: OutboxEntry[]): Promise<void> {
    // An entry with no fields was removed meanwhile (written by a writer that took it over).
    const unreadable = entries.filter(
      (e) => (!e.item || (!opts.mover && 'moved' in e.item)) && e.raw.length > 0,
    );
    await outbox.deadLetter(unreadable, 'not a history record');
    dead.inc(unreadable.length);
    const readable = entries.filter((e) => e.item && (opts.mover || !('moved' in e.item)));
    if (readable.length === 0) return;
    const { moved: refs, ...batch } = toBatch(readable);
    // Read from Redis before the write (an outage of Redis here is retried like one of PostgreSQL).
    const moved = refs.length > 0 && opts.mover ? await opts.mover.resolve(refs) : undefined;
    if (moved) {
      batch.events.push(...(moved.batch.events ?? []));
      batch.deliveries.push(...(moved.batch.deliveries ?? []));
    }
    try {
      await store.write(batch);
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (readable.length === 1) {
        logger?.error({ entry: readable[0]!.id, err: (err as Error).message }, 'history: record refused');
        await outbox.deadLetter(readable, (err as Error).message);
        dead.inc();
        return;
      }
      const half = Math.ceil(readable.length / 2);
      await writeOrIsolate(readable.slice(0, half));
      await outbox.ack(readable.slice(0, half).map((e) => e.id));
      await writeOrIsolate(readable.slice(half));
      return;
    }
    if (moved) await opts.mover!.drop(moved);
    await opts.onWritten?.(batch);
    written.inc({ kind: 'event' }, batch.events.length);
    written.inc({ kind: 'delivery' }, batch.deliveries.length);
  }

  async function take(): Promise<OutboxEntry[]> {
    if (holding) {
      const own = await outbox.read(consumer, batchSize, true);
      if (own.length > 0) return own;
      holding = false;
    }
    if (Date.now() - lastClaim >= claimIdleMs / 2) {
      lastClaim = Date.now();
      const stale = await outbox.claimStale(consumer, batchSize, claimIdleMs);
      if (stale.length > 0) return stale;
      await outbox.pruneConsumers(consumer, Math.max(claimIdleMs, 3_600_000));
    }
    return outbox.read(consumer, batchSize);
  }

  /** One batch from the outbox into PostgreSQL; returns how many entries it moved. */
  async function drainOnce(): Promise<number> {
    const entries = await take();
    backlog = await outbox.length();
    if (entries.length === 0) return 0;
    holding = true;
    try {
      await writeOrIsolate(entries);
    } catch (err) {
      failures.inc();
      const now = Date.now();
      failingSince ??= now;
      if (now - lastLog >= logEveryMs) {
        lastLog = now;
        logger?.warn(
          { backlog, failingForMs: now - failingSince, err: (err as Error).message },
          `history: PostgreSQL write failed; ${backlog} records wait in Redis and are retried`,
        );
      }
      throw err;
    }
    await outbox.ack(entries.map((e) => e.id));
    holding = false;
    backlog = Math.max(0, backlog - entries.length);
    if (failingSince !== undefined) {
      logger?.info(
        { backlog, outageMs: Date.now() - failingSince },
        `history: PostgreSQL writes resumed; ${backlog} records still waiting`,
      );
      failingSince = undefined;
      lastLog = 0;
    }
    return entries.length;
  }

  let running: Promise<void> | undefined;
  let stopping = false;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function loop() {
    let backoff = intervalMs;
    while (!stopping) {
      let moved: number;
      try {
        moved = await drainOnce();
        backoff = intervalMs;
      } catch (err) {
        // PostgreSQL failures are logged by drainOnce; this is Redis (the outbox) failing.
        if (failingSince === undefined && Date.now() - lastLog >= logEveryMs) {
          lastLog = Date.now();
          logger?.error({ err: (err as Error).message }, 'history: outbox unreachable; retrying');
        }
        backoff = Math.min(backoff * 2, maxBackoffMs);
        await pause(backoff);
        continue;
      }
      if (moved < batchSize && !stopping) await pause(intervalMs);
    }
  }

  return {
    consumer,
    drainOnce,
    /** Entries waiting in the outbox when this writer last looked. */
    backlog: () => backlog,
    /** True while writes fail (PostgreSQL unreachable). */
    failing: () => failingSince !== undefined,
    start(): void {
      stopping = false;
      running ??= loop().finally(() => (running = undefined));
    },
    /** Stops after the batch in progress (whose entries are acknowledged or left for later). */
    async stop(): Promise<void> {
      stopping = true;
      wake?.();
      await running;
    },
  };
}

export type HistoryWriter = ReturnType<typeof createHistoryWriter>;
