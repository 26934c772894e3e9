// The enqueue half of publishing: claims each event's id (per tenant, 24 h idempotency) and adds
// the events to the events queue in one job. Events arrive here validated: every way in (the API
// and the exported publisher) goes through acceptEvents in src/services/events.ts, and
// src/services/publisher.ts builds the library's createPublisher on top of this. This file stays
// in the pipeline because it imports bullmq.
import { digest12 } from '../domain/digest.js';
import { Queue } from 'bullmq';
import type { Tracer } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import { isOperational, sealReportSecret, type HooklineEvent } from '../domain/event.js';
import { HooklineError } from '../domain/errors.js';
import type { SecretBox } from '../crypto.js';
import { createRedis, keyspace, type Keys } from '../redis/client.js';
import { lhBucketOf, lhBuckets } from '../redis/linear-hash.js';
import type { RedisTopology } from '../redis/topology.js';
import { luaScript, type ScriptArg } from '../redis/scripts.js';
import { publishSpans, type PublishSpans } from '../telemetry/spans.js';
import { tracer } from '../telemetry/tracing.js';
import { EVENTS_QUEUE, type EventJobData } from './jobs.js';
import { callSteps, handOffKey, type TenantPriority } from './tenant-priority.js';

export const IDEMPOTENCY_SECONDS = 24 * 3600;
/** How long an id is held while its events are being queued. */
const CLAIM_SECONDS = 120;
/**
 * Ids per confirm or release command (library callers have no batch cap), one after another: a
 * confirmation costs Redis ~11 µs an id, so a command holds it for about 3 ms at most.
 */
export const ID_CHUNK = 250;

const CLAIM = luaScript<[since: string], ScriptArg[], number[]>('claim-ids');
const CONFIRM = luaScript<[since: string], ScriptArg[], number>('confirm-ids');
const RELEASE = luaScript<[since: string], ScriptArg[], number>('release-ids');

/** 0.4.0-pre's hash shards of a slot's claims (read until they expire, never written). */
const LEGACY_SHARDS = 64;
/** Claims are kept in 6-hour slots: an id stays a duplicate at least 24 h, at most 30 h. */
const SLOT_SECONDS = 6 * 3_600;
/**
 * Ids per claim command, the commands sent one after another. Redis runs one command at a time
 * and a claim costs it ~25-45 µs an id (B6, case (d)), so one command for a batch of 500 held
 * every other tenant's commands for 15-20 ms; a slice of 100 holds them for a few ms, and what
 * other tenants send meanwhile runs between the slices (B6, case (e)).
 */
export const CLAIM_CHUNK = 100;

/** FNV-1a, 32 bits: the 0.4.0-pre shard of a claim's `<tenant>|<id>` field. */
function legacyShard(field: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < field.length; i++) h = Math.imul(h ^ field.charCodeAt(i), 0x01000193);
  return (h >>> 0) % LEGACY_SHARDS;
}

/**
 * An event's idempotency claim: its field, 12 bytes (96 bits) of SHA-256 over tenant and id (the
 * tenant is part of it: ids are per tenant; two claims of the window colliding has a chance of
 * about n²/2^97, 10^-13 for 100 M claims), and the slot whose table it is written to now.
 */
export function claimOf(keys: Keys, tenantId: string, eventId: string, nowMs = Date.now()) {
  const digest = digest12(`${tenantId}\n${eventId}`);
  const slot = Math.floor(nowMs / 1000 / SLOT_SECONDS);
  return { digest, slot, table: keys.idemTable(slot) };
}

/** A claim's value as stored ('0' confirmed, a deadline pending), or null (tests, tools). */
export async function claimValue(redis: Redis, c: ReturnType<typeof claimOf>): Promise<string | null> {
  const count = Number((await redis.get(c.table)) ?? 0);
  return redis.hget(`${c.table}:${lhBucketOf(c.digest, lhBuckets(count))}`, c.digest);
}

export interface PublishResult {
  id: string;
  duplicate: boolean;
}

/** Idempotent enqueueing of events that were validated already. */
export interface EventEnqueuer {
  /** Enqueues validated events: a duplicate id (per tenant, 24 h) answers `duplicate: true`. */
  enqueue(events: HooklineEvent[]): Promise<PublishResult[]>;
  /** Closes the connection and queue it opened (not those it was given). */
  close(): Promise<void>;
}

/**
 * What `ctx.publisher` and the exported `createPublisher` offer. Declared here, beside the
 * enqueue it extends, because the service graph (./context.ts) holds one; implemented by
 * src/services/publisher.ts, whose validation is the API's (acceptEvents).
 */
export interface Publisher extends EventEnqueuer {
  /** Validates and enqueues one event; throws a validation_error naming each bad field. */
  publish(input: unknown): Promise<PublishResult>;
  /** Validates all first (nothing is queued if any is bad), then enqueues in one round trip. */
  publishBatch(inputs: unknown[]): Promise<PublishResult[]>;
}

export interface EnqueuerOptions {
  /** Key prefix (REDIS_PREFIX). */
  prefix: string;
  /** Encrypts per-event deliveryReport secrets as they are queued (the workers' ENCRYPTION_KEY). */
  box: SecretBox;
  /** An existing producer connection (not closed by close()). */
  connection?: Redis;
  /** Connects here when no connection is given: a REDIS_URL, or a topology (Sentinel, Cluster). */
  redisUrl?: string;
  redis?: RedisTopology;
  /** An existing events queue (not closed by close()). */
  queue?: Queue<EventJobData>;
  /** How long a failed events job is kept; default 7 days. */
  removeOnFailAgeSeconds?: number;
  /** Called with the number of events newly queued (metrics). */
  onAccepted?: (count: number) => void;
  /**
   * A host application's OpenTelemetry tracer (the library's createPublisher): publish spans
   * under its active span, and the events' trace context for the workers. Default: Hookline's
   * own, while tracing is on in this process.
   */
  tracer?: Tracer;
  /** This process's lighter-tenants-first order (./tenant-priority.ts); compose passes it. */
  priority?: TenantPriority;
}

export function createEnqueuer(opts: EnqueuerOptions): EventEnqueuer {
  const { prefix, box } = opts;
  const ownsConnection = !opts.connection;
  const redis =
    opts.connection ?? createRedis(opts.redis ?? opts.redisUrl ?? 'redis://127.0.0.1:6379', 'producer');
  const keys: Keys = keyspace(prefix);
  CLAIM.define(redis);
  CONFIRM.define(redis);
  RELEASE.define(redis);
  const ownsQueue = !opts.queue;
  const queue = opts.queue ?? new Queue<EventJobData>(EVENTS_QUEUE, { connection: redis, prefix });
  const jobOpts = {
    attempts: 25,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: true,
    removeOnFail: { age: opts.removeOnFailAgeSeconds ?? 7 * 86400 },
  };

  /** With tracing on, each event's `hookline.publish` span covers its claim and queueing. */
  function enqueue(events: HooklineEvent[]): Promise<PublishResult[]> {
    const using = opts.tracer ?? tracer;
    if (!using || events.length === 0) return enqueueEvents(events);
    const spans = publishSpans(events, using);
    return enqueueEvents(events, spans).then(
      (results) => {
        spans.end(results.map((r) => r.duplicate));
        return results;
      },
      (err: unknown) => {
        spans.fail(err);
        throw err;
      },
    );
  }

  async function enqueueEvents(events: HooklineEvent[], spans?: PublishSpans): Promise<PublishResult[]> {
    if (events.length === 0) return [];
    const prio = opts.priority;
    if (!prio) return claimAndQueue(events, spans);
    // A step of each tenant in the call (a platform's call may carry many), until its fan-out
    // takes them (same process). Operational events never wait: they are published from within
    // a run that holds a slot.
    const steps = callSteps(prio, events, { units: true, wait: !isOperational(events[0]!.type) });
    // Handed off just before the job is added: its fan-out may start before the add is answered.
    let key: string | undefined;
    try {
      // The call's turns: before its claims, and between its chunks (a budget for all of them).
      const wait = steps.between();
      if (wait) await wait;
      return await claimAndQueue(events, spans, {
        between: steps.between,
        queueing: (first) => {
          key = handOffKey(first);
          prio.handOff(key, steps.tenants);
        },
      });
    } catch (err) {
      if (key) prio.taken(key); // not queued after all: no fan-out will take it
      throw err;
    } finally {
      if (!key) steps.end();
    }
  }

  async function claimAndQueue(
    events: HooklineEvent[],
    spans?: PublishSpans,
    turns?: {
      /** Awaited between claim chunks (a heavy tenant lets lighter ones go first). */
      between: () => Promise<void> | undefined;
      /** Called with the job's first event (the fan-out's batch[0]) just before it is added. */
      queueing: (first: HooklineEvent) => void;
    },
  ): Promise<PublishResult[]> {
    // Claim each id briefly first; the claim holds for the 24 h window only once the events are
    // queued, so a failure in between never turns a retry into a "duplicate". Ids are per
    // tenant: another tenant's event of the same id is another event.
    const nowMs = Date.now();
    const now = Math.floor(nowMs / 1000);
    const claims = events.map((e) => claimOf(keys, e.tenantId, e.id, nowMs));
    // The written table lives until its last claim's window has passed.
    const slot = claims[0]!.slot;
    const expireAt = (slot + 1) * SLOT_SECONDS + IDEMPOTENCY_SECONDS + 60;
    const base = `${keys.prefix}:`;
    const replies: number[] = [];
    try {
      for (let i = 0; i < events.length; i += CLAIM_CHUNK) {
        const wait = i > 0 ? turns?.between() : undefined;
        if (wait) await wait;
        const args: ScriptArg[] = [`${base}idm:`, `${base}idemh:`, `${base}idem:`, slot, now];
        args.push(now + CLAIM_SECONDS, expireAt);
        for (let j = i; j < Math.min(events.length, i + CLAIM_CHUNK); j++) {
          const e = events[j]!;
          args.push(claims[j]!.digest, e.tenantId, e.id, legacyShard(`${e.tenantId}|${e.id}`));
        }
        // One scripted command per chunk of ids, however many events a call carries.
        replies.push(...(await CLAIM.run(redis, [keys.idemSince()], args)));
      }
    } catch (err) {
      // Ids an earlier chunk claimed are released, so the caller's retry is not a "duplicate".
      const claimed = claims.filter((_, i) => replies[i] === 1);
      if (claimed.length > 0) await release(claimed).catch(() => undefined);
      throw new HooklineError('unavailable', 'could not enqueue events; retry', undefined, {
        cause: String(err),
      });
    }
    const fresh: HooklineEvent[] = [];
    const freshClaims: typeof claims = [];
    const tp = spans ? ([] as (string | undefined)[]) : undefined;
    const seen = new Set<string>();
    const results = events.map((e, i) => {
      const c = claims[i]!;
      const field = c.digest.toString('base64');
      const claimed = replies[i] === 1 && !seen.has(field);
      seen.add(field);
      if (claimed) {
        fresh.push(sealReportSecret(e, box));
        freshClaims.push(c);
        tp?.push(spans!.traceparent(i));
      }
      return { id: e.id, duplicate: !claimed };
    });
    if (fresh.length > 0) {
      try {
        turns?.queueing(fresh[0]!);
        // One job for the whole call: the fan-out handles its events in one pipeline and one addBulk.
        await queue.add(
          fresh.length === 1 ? fresh[0]!.type : 'batch',
          tp ? { events: fresh, tp } : { events: fresh },
          jobOpts,
        );
      } catch (err) {
        // Not queued: release the ids so the caller's retry is not taken for a duplicate.
        await release(freshClaims).catch(() => undefined);
        throw new HooklineError('unavailable', 'could not enqueue events; retry', undefined, {
          cause: String(err),
        });
      }
      // Queued is accepted: a failed confirmation only shortens the idempotency window.
      await onClaims(CONFIRM, freshClaims).catch(() => undefined);
      opts.onAccepted?.(fresh.length);
    }
    return results;
  }

  /** Runs confirm-ids or release-ids over claims, ID_CHUNK at a time. */
  async function onClaims(script: typeof CONFIRM, claims: { slot: number; digest: Buffer }[]) {
    for (let i = 0; i < claims.length; i += ID_CHUNK) {
      const args: ScriptArg[] = [`${keys.prefix}:idm:`];
      for (const c of claims.slice(i, i + ID_CHUNK)) args.push(c.slot, c.digest);
      await script.run(redis, [keys.idemSince()], args);
    }
  }
  const release = (claims: { slot: number; digest: Buffer }[]) => onClaims(RELEASE, claims);

  return {
    enqueue,
    async close() {
      if (ownsQueue) await queue.close();
      if (ownsConnection) await redis.quit().catch(() => undefined);
    },
  };
}
