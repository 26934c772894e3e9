// The services layer: the workflows the API (and the exported publisher) run, built once per
// process from the service graph. Services import from the pipeline and below, never from api.
import type { Context } from '../pipeline/context.js';
import { createClientStore, type ClientStore } from '../store/client-store.js';
import { createEventService, type EventService } from './events.js';
import { createHealth, type Health } from './health.js';
import { createRecoveryService, type RecoveryService } from './recovery.js';
import { createSubscriptionActions, type SubscriptionActions } from './subscription-actions.js';
import { createSubscriptionService, type SubscriptionService } from './subscriptions.js';

export interface Services {
  /** acceptEvents (POST /v1/events, its batch) and reading an event back. */
  events: EventService;
  /** Create, list, read, replace, patch, delete, restore. */
  subscriptions: SubscriptionService;
  /** Pause, resume, test, rotate the signing secret. */
  subscriptionActions: SubscriptionActions;
  /** Delivery listings, recover, replay, retry. */
  recovery: RecoveryService;
  /** API clients and their access tokens. */
  clients: ClientStore;
  health: Health;
  /** Values a subscription gets when it sets none, shown in answers (read when it is used). */
  subscriptionDefaults: { maxInFlight: number };
}

export function createServices(ctx: Context): Services {
  return {
    events: createEventService({
      enqueuer: ctx.publisher,
      allowHttp: ctx.config.ALLOW_HTTP_WEBHOOKS,
      urlGuard: ctx.urlGuard,
      history: ctx.history,
      historyStore: ctx.historyStore,
      redisHistory: ctx.redisHistory,
    }),
    subscriptions: createSubscriptionService(ctx),
    subscriptionActions: createSubscriptionActions(ctx),
    recovery: createRecoveryService(ctx),
    clients: createClientStore(ctx.redis, ctx.keys, { maxPerTenant: ctx.config.MAX_CLIENTS_PER_TENANT }),
    health: createHealth(ctx),
    subscriptionDefaults: { maxInFlight: ctx.config.MAX_IN_FLIGHT_PER_SUBSCRIPTION },
  };
}
