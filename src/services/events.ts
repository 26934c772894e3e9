// Accepting events (SPEC §2) and reading what became of them. acceptEvents is the one way in:
// POST /v1/events, its batch form and the exported publisher (./publisher.ts) all validate here.
import type { UrlGuard } from '../delivery/security.js';
import { deliveryReportUrlErrors } from '../delivery/security.js';
import type { DeliveryRecord } from '../domain/delivery-record.js';
import { notFound, validationError, type FieldError } from '../domain/errors.js';
import {
  eventRuleErrors,
  normalizeEvent,
  schemaErrors,
  type EventInput,
  type HooklineEvent,
} from '../domain/event.js';
import type { EventEnqueuer, PublishResult } from '../pipeline/publisher.js';
import type { HistoryStore, Page } from '../store/history/history-store.js';
import type { HistoryReader } from '../store/history/reader.js';
import { toMs, unsupportedFilter } from './recovery.js';
import { deliveryVisibleTo } from './visibility.js';

export interface AcceptOptions {
  /** A tenant client's own tenant: every event must be of it. Unset for platform callers. */
  tenant?: string;
  /**
   * JSON Pointer of the i-th input in field errors. Default `/${i}` (an array of events); the
   * API's single event uses `''`, its batch `/events/${i}`.
   */
  at?: (i: number) => string;
}

export interface EventServiceDeps {
  enqueuer: Pick<EventEnqueuer, 'enqueue'>;
  /** ALLOW_HTTP_WEBHOOKS: whether a deliveryReport URL may be plain http://. */
  allowHttp: boolean;
  /** The save-time SSRF check, as for a subscription's webhookUrl. */
  urlGuard?: UrlGuard;
  /** Only needed to read an event back (getEvent): records wherever they are now. */
  history?: Pick<HistoryReader, 'getEvent' | 'getEvents'>;
  /** The PostgreSQL history, when DATABASE_URL is set (lists with every filter). */
  historyStore?: Pick<HistoryStore, 'listEvents' | 'filters'>;
  /** The Redis history, without DATABASE_URL (lists by messageId only). */
  redisHistory?: Pick<HistoryStore, 'listEvents' | 'filters'>;
}

/** The filters of `GET /v1/events`; since/until as given (RFC 3339 or epoch ms). */
export interface EventListQuery {
  messageId?: string;
  type?: string;
  since?: string | number;
  until?: string | number;
  limit: number;
  cursor?: string;
}

export interface EventService {
  /**
   * Validates every input (schema, per-type rules, tenant, deliveryReport URL incl. the SSRF
   * guard) and throws one validation_error (or ssrf_blocked) naming each bad field; nothing is
   * queued then. Otherwise enqueues them all, once per (tenant, id) within 24 h.
   */
  acceptEvents(inputs: readonly unknown[], opts?: AcceptOptions): Promise<PublishResult[]>;
  /** Validation alone: the accepted, normalised events, or the error acceptEvents would throw. */
  validateEvents(inputs: readonly unknown[], opts?: AcceptOptions): Promise<HooklineEvent[]>;
  /**
   * A tenant's event (ids are per tenant) and the deliveries `platform` callers or not may see;
   * 404 when the tenant has no such event.
   */
  getEvent(
    tenant: string,
    id: string,
    opts: { platform: boolean },
  ): Promise<{ event: HooklineEvent; deliveries: DeliveryRecord[] }>;
  /**
   * A tenant's events, newest first by acceptance. The Redis history serves `messageId` alone
   * (400 unsupported_filter otherwise, naming DATABASE_URL).
   */
  listEvents(tenant: string, query: EventListQuery): Promise<Page<HooklineEvent>>;
}

const arrayItem = (i: number) => `/${i}`;

export function createEventService(deps: EventServiceDeps): EventService {
  async function validateEvents(
    inputs: readonly unknown[],
    opts: AcceptOptions = {},
  ): Promise<HooklineEvent[]> {
    const at = opts.at ?? arrayItem;
    const errors: FieldError[] = [];
    // Schema first; rules and URLs only for inputs of the right shape.
    const shaped = inputs.map((input, i): EventInput | undefined => {
      const schema = schemaErrors(input, at(i));
      if (schema.length > 0) {
        errors.push(...schema);
        return undefined;
      }
      const e = input as EventInput;
      errors.push(...eventRuleErrors(e, at(i)));
      if (opts.tenant !== undefined && e.tenantId !== opts.tenant)
        errors.push({ path: `${at(i)}/tenantId`, message: 'must be the tenant of your client' });
      return e;
    });
    errors.push(
      ...(await deliveryReportUrlErrors(
        shaped.map((e) => e ?? {}),
        at,
        { allowHttp: deps.allowHttp, guard: deps.urlGuard },
      )),
    );
    if (errors.length > 0) throw validationError(errors);
    const now = Date.now();
    return (shaped as EventInput[]).map((e) => normalizeEvent(e, now));
  }

  return {
    validateEvents,
    async acceptEvents(inputs, opts) {
      const events = await validateEvents(inputs, opts);
      return deps.enqueuer.enqueue(events);
    },
    async getEvent(tenant, id, { platform }) {
      if (!deps.history) throw new Error('getEvent needs the history reader');
      const found = await deps.history.getEvent(tenant, id);
      if (!found) throw notFound('event');
      return {
        event: found.event,
        deliveries: found.deliveries.filter(
          (r) => r.tenantId === tenant && deliveryVisibleTo(r, tenant, platform),
        ),
      };
    },

    async listEvents(tenant, query) {
      const since = query.since === undefined ? undefined : toMs(query.since, '/querystring/since');
      const until = query.until === undefined ? undefined : toMs(query.until, '/querystring/until');
      const store = deps.historyStore ?? deps.redisHistory;
      if (!store) throw new Error('listEvents needs historyStore or redisHistory');
      for (const name of ['type', 'since', 'until'] as const)
        if (query[name] !== undefined && !store.filters.events.has(name))
          throw unsupportedFilter(name, `/querystring/${name}`);
      // The Redis history lists by messageId only: it refuses a listing without one.
      return store.listEvents({
        tenantId: tenant,
        limit: query.limit,
        cursor: query.cursor,
        messageId: query.messageId,
        type: query.type,
        since,
        until,
      });
    },
  };
}
