// Finding and re-driving failures (SPEC §4): delivery listings, recover a subscription's failed
// deliveries of a time window, replay an event, retry one delivery. A re-drive is a new attempt
// series: a new delivery (new id, full retries) linked to the old one by `retryOf` /
// `redrivenTo`; the old record keeps its history.
import { FINAL_STATUSES, type DeliveryRecord, type DeliveryStatus } from '../domain/delivery-record.js';
import { HooklineError, notFound, validationError } from '../domain/errors.js';
import type { HooklineEvent } from '../domain/event.js';
import type { Context } from '../pipeline/context.js';
import type { DeliveryFilter, HistoryStore } from '../store/history/history-store.js';
import { unsupportedFilter } from '../store/history/history-store.js';
import { redrive, type Destination } from '../pipeline/fanout.js';
import { OPS_MAX_RETRIES, OPS_TARGET, REPORT_MAX_RETRIES, REPORT_TARGET } from '../pipeline/targets.js';
import type { Tenant } from './subscriptions.js';
import { deliveryVisibleTo } from './visibility.js';
import { withHeldReasons } from './held-reason.js';

/** Deliveries re-driven concurrently by one recover call. */
const PARALLEL = 20;

export type RecoveryDeps = Pick<
  Context,
  | 'config'
  | 'redis'
  | 'keys'
  | 'deliveries'
  | 'history'
  | 'historyStore'
  | 'redisHistory'
  | 'deliveriesQueue'
  | 'subscriptionStore'
  | 'subscriptions'
  | 'metrics'
>;

/** Who asks: admin and platform clients may see and re-drive the platform's ops deliveries. */
export interface Caller {
  platform: boolean;
}

export interface ListPage {
  status?: DeliveryStatus;
  limit: number;
  cursor?: string;
}

/** The filters of `GET /v1/deliveries` (SPEC §4); `since`/`until` as given (RFC 3339 or epoch ms). */
export interface DeliveryListQuery extends ListPage {
  subscriptionId?: string;
  eventId?: string;
  messageId?: string;
  eventType?: string;
  since?: string | number;
  until?: string | number;
}

// Defined beside the HistoryStore interface (the Redis store refuses with it too); the API and
// events.ts import it from here.
export { unsupportedFilter };

export type DeliveryPage = { data: DeliveryRecord[]; nextCursor: string | null };

export interface ReplayResult {
  queued: number;
  deliveries: { subscriptionId: string; deliveryId: string; queued: boolean }[];
}

/** 9999-12-31T23:59:59.999Z: the latest time a filter or cursor may name. */
export const MAX_TIME_MS = 253_402_300_799_999;

/** An RFC 3339 date-time or epoch milliseconds (as a number or digits) as epoch ms. */
export function toMs(v: string | number, path: string): number {
  const ms = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  // Years 1970 to 9999: what both stores (and Date, and PostgreSQL's timestamptz) hold.
  if (Number.isNaN(ms) || ms < 0 || ms > MAX_TIME_MS)
    throw validationError([
      { path, message: 'must be an RFC 3339 date-time or epoch milliseconds, from 1970 to 9999' },
    ]);
  return ms;
}

export function createRecoveryService(ctx: RecoveryDeps) {
  const { deliveries, history, subscriptionStore: subs } = ctx;
  const deps = {
    redis: ctx.redis,
    keys: ctx.keys,
    deliveries,
    history: ctx.historyStore,
    queue: ctx.deliveriesQueue,
    onSuperseded: (count: number) => ctx.metrics.deliveriesSuperseded(count),
  };

  /** A tenant's event by id (event ids are per tenant), wherever it is; 404 when none. */
  async function loadEvent(tenant: string, id: string): Promise<HooklineEvent> {
    const [event] = await history.getEvents([{ tenantId: tenant, id }]);
    if (!event) throw notFound('event');
    return event;
  }

  /** The store whose lists the API shows: PostgreSQL with DATABASE_URL, else Redis. */
  const listStore = (): HistoryStore => {
    const store = ctx.historyStore ?? ctx.redisHistory;
    if (!store) throw new Error('the recovery service needs historyStore or redisHistory');
    return store;
  };

  /** Every subscription id the tenant ever had (the store's live listing drops deleted ones). */
  const tenantSubscriptionIds = (tenant: string) => ctx.redis.zrange(ctx.keys.tenantSubs(tenant), '0', '-1');

  /**
   * Where a re-drive goes; undefined when the subscription is gone (or not the event's tenant's).
   * The platform's ops URL is re-driven by platform callers only (and while it is configured).
   */
  async function destination(
    subscriptionId: string,
    event: HooklineEvent,
    platform: boolean,
  ): Promise<Destination | undefined> {
    if (subscriptionId === REPORT_TARGET) {
      return event.deliveryReport
        ? { subscriptionId, maxRetries: REPORT_MAX_RETRIES, target: 'deliveryReport' }
        : undefined;
    }
    if (subscriptionId === OPS_TARGET) {
      return platform && ctx.config.OPS_WEBHOOK_URL
        ? { subscriptionId, maxRetries: OPS_MAX_RETRIES, target: OPS_TARGET }
        : undefined;
    }
    const sub = await subs.get(subscriptionId);
    if (!sub || sub.deletedAt || sub.tenantId !== event.tenantId) return undefined;
    return { subscriptionId, maxRetries: sub.maxRetries, dropStaleStatuses: sub.dropStaleStatuses };
  }

  /**
   * Re-drives failed records of one subscription (of `tenant`); ones re-driven before whose
   * successor never got queued are healed.
   */
  async function redriveFailed(records: DeliveryRecord[], to: Destination, tenant: string): Promise<number> {
    const successors = records.filter((r) => r.redrivenTo).map((r) => r.redrivenTo!);
    const state = new Map<string, DeliveryStatus | undefined>();
    if (successors.length > 0) {
      const got = await Promise.all(successors.map((id) => history.getDelivery(id)));
      successors.forEach((id, i) => state.set(id, got[i]?.status));
    }
    const todo = records.filter((r) => !r.redrivenTo || (state.get(r.redrivenTo) ?? 'pending') === 'pending');
    const eventIds = [...new Set(todo.map((r) => r.eventId))];
    const loaded = await history.getEvents(eventIds.map((id) => ({ tenantId: tenant, id })));
    const events = new Map(eventIds.map((id, i) => [id, loaded[i]]));
    let queued = 0;
    for (let i = 0; i < todo.length; i += PARALLEL) {
      const results = await Promise.all(
        todo.slice(i, i + PARALLEL).map((r) => {
          const event = events.get(r.eventId);
          return event ? redrive(deps, event, to, r) : undefined;
        }),
      );
      queued += results.filter((r) => r?.created).length;
    }
    return queued;
  }

  /**
   * A tenant's deliveries across its subscriptions (deleted ones too), newest first, filtered
   * (SPEC §4). A filter the store in use does not serve (on Redis: eventType) answers 400
   * unsupported_filter.
   */
  async function listTenantDeliveries(tenant: string, query: DeliveryListQuery): Promise<DeliveryPage> {
    const { limit, cursor, status, subscriptionId, eventId, messageId, eventType } = query;
    const since = query.since === undefined ? undefined : toMs(query.since, '/querystring/since');
    const until = query.until === undefined ? undefined : toMs(query.until, '/querystring/until');
    const served = listStore().filters.deliveries;
    for (const [name, value] of Object.entries({ eventType, eventId, messageId, subscriptionId }))
      if (value !== undefined && !served.has(name as DeliveryFilter))
        throw unsupportedFilter(name, `/querystring/${name}`);
    if (subscriptionId) await subs.getVisible(subscriptionId, tenant);
    const q = {
      tenantId: tenant,
      limit,
      cursor,
      status,
      subscriptionId,
      eventId,
      messageId,
      eventType,
      since,
      until,
    };
    // Without PostgreSQL, Redis holds every record.
    if (!ctx.historyStore) return listStore().listDeliveries(q);
    const indexIds = subscriptionId ? [subscriptionId] : await tenantSubscriptionIds(tenant);
    return history.listDeliveries(
      q,
      indexIds.map((id) => ctx.keys.subDeliveries(id)),
    );
  }

  return {
    /**
     * A tenant's deliveries across its subscriptions (deleted ones too), newest first, filtered
     * (SPEC §4); the platform's ops deliveries only for platform callers (a page may then come
     * back shorter; its cursor goes on).
     */
    async tenantDeliveries(
      tenant: string,
      query: DeliveryListQuery,
      caller: Caller = { platform: false },
    ): Promise<DeliveryPage> {
      const page = await listTenantDeliveries(tenant, query);
      return {
        data: await withHeldReasons(
          ctx,
          page.data.filter((r) => deliveryVisibleTo(r, tenant, caller.platform)),
        ),
        nextCursor: page.nextCursor,
      };
    },
    /** A delivery record with every attempt, if the caller may see it; 404 otherwise. */
    async getDelivery(id: string, tenant: Tenant, caller: Caller): Promise<DeliveryRecord> {
      const record = await history.getDelivery(id);
      if (!record || !deliveryVisibleTo(record, tenant, caller.platform)) throw notFound('delivery');
      return (await withHeldReasons(ctx, [record]))[0]!;
    },

    /** A subscription's deliveries, newest first. */
    async subscriptionDeliveries(id: string, tenant: Tenant, page: ListPage): Promise<DeliveryPage> {
      const sub = await subs.getVisible(id, tenant);
      const found = await history.listDeliveries(
        { ...page, tenantId: sub.tenantId, subscriptionId: sub.id },
        [ctx.keys.subDeliveries(sub.id)],
      );
      return { data: await withHeldReasons(ctx, found.data), nextCursor: found.nextCursor };
    },

    /** Re-drives the subscription's failed deliveries created in [since, until (default now)]. */
    async recover(
      id: string,
      tenant: Tenant,
      window: { since: string | number; until?: string | number },
    ): Promise<{ subscriptionId: string; since: number; until: number; queued: number }> {
      const sub = await subs.getVisible(id, tenant);
      const since = toMs(window.since, '/since');
      const until = window.until === undefined ? Date.now() : toMs(window.until, '/until');
      if (until < since) throw validationError([{ path: '/until', message: 'must not be before since' }]);
      const index = [ctx.keys.subDeliveries(sub.id)];
      const to = {
        subscriptionId: sub.id,
        maxRetries: sub.maxRetries,
        dropStaleStatuses: sub.dropStaleStatuses,
      };
      let queued = 0;
      let cursor: string | undefined;
      do {
        const page = await history.listDeliveries(
          {
            tenantId: sub.tenantId,
            subscriptionId: sub.id,
            status: 'failed',
            since,
            until,
            limit: 250,
            cursor,
            withAttempts: false,
          },
          index,
        );
        queued += await redriveFailed(page.data, to, sub.tenantId);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return { subscriptionId: sub.id, since, until, queued };
    },

    /**
     * Delivers an event again: to each named subscription, else to every destination it was
     * delivered to. A destination whose delivery is still under way is left alone.
     */
    async replay(
      tenant: string,
      eventId: string,
      subscriptionIds: string[] | undefined,
      caller: Caller,
    ): Promise<ReplayResult> {
      const event = await loadEvent(tenant, eventId);
      const records = ((await history.getEvent(tenant, event.id))?.deliveries ?? []).filter(
        (r) => r.tenantId === tenant,
      );
      const heads = new Map<string, DeliveryRecord>();
      for (const r of records) {
        const cur = heads.get(r.subscriptionId);
        if (!cur || (r.series ?? 0) > (cur.series ?? 0)) heads.set(r.subscriptionId, r);
      }
      const targets = await Promise.all(
        (subscriptionIds ?? [...heads.keys()]).map(
          async (id) => [id, await destination(id, event, caller.platform)] as const,
        ),
      );
      const missing = subscriptionIds
        ? targets.findIndex(([id, to]) => !to || id === REPORT_TARGET || id === OPS_TARGET)
        : -1;
      if (missing >= 0) throw notFound(`subscription ${subscriptionIds![missing]}`);
      const out: ReplayResult['deliveries'] = [];
      for (const [subscriptionId, to] of targets) {
        if (!to) continue;
        const head = heads.get(subscriptionId);
        if (head && !head.redrivenTo && !FINAL_STATUSES.has(head.status)) {
          out.push({ subscriptionId, deliveryId: head.id, queued: false });
          continue;
        }
        const res = await redrive(deps, event, to, head);
        out.push({ subscriptionId, deliveryId: res.id, queued: res.created });
      }
      return { queued: out.filter((d) => d.queued).length, deliveries: out };
    },

    /**
     * Retries a finished delivery as a new attempt series (its latest re-drive, if it was
     * re-driven already); 409 while it is under way. Answers the new delivery.
     */
    async retry(id: string, tenant: Tenant, caller: Caller): Promise<DeliveryRecord> {
      let record = await history.getDelivery(id);
      if (!record || !deliveryVisibleTo(record, tenant, caller.platform)) throw notFound('delivery');
      for (let hops = 0; record.redrivenTo && hops < 1_000; hops++) {
        const next = await history.getDelivery(record.redrivenTo);
        if (!next) break; // its re-drive never got written: re-driving again completes it
        record = next;
      }
      if (!record.redrivenTo && !FINAL_STATUSES.has(record.status)) {
        throw new HooklineError(
          'conflict',
          `delivery ${record.id} is still under way (${record.status})`,
          undefined,
          { deliveryId: record.id },
        );
      }
      const event = await loadEvent(record.tenantId, record.eventId);
      const to = await destination(record.subscriptionId, event, caller.platform);
      if (!to) throw new HooklineError('conflict', 'the subscription of this delivery was deleted');
      const { id: newId } = await redrive(deps, event, to, record);
      return (await history.getDelivery(newId))!;
    },
  };
}

export type RecoveryService = ReturnType<typeof createRecoveryService>;
