// Public API of the `hookline` package.
export {
  createPublisher,
  publisherConfigFromEnv,
  type Publisher,
  type PublisherConfig,
  type PublisherOptions,
  type PublishResult,
} from './services/publisher.js';
export { createHookline, type Hookline, type StartOptions } from './hookline.js';
export { loadConfig, type Config } from './config.js';
export {
  EVENT_TYPES,
  OPERATIONAL_EVENT_TYPES,
  CHANNELS,
  type EventInput,
  type HooklineEvent,
  type EventType,
  type OperationalEventType,
  type Channel,
} from './domain/event.js';
export type { SubscriptionInput, Subscription } from './domain/subscription.js';
export { HooklineError } from './domain/errors.js';
