// Operational events (subscription.disabled, delivery.exhausted) in every format: Hookline's own
// shape, `{id, type, timestamp, tenantId, data}`, since no provider has one. The tenant is named
// because the platform's OPS_WEBHOOK_URL receives those of every tenant.
import type { HooklineEvent } from '../../domain/event.js';
import type { Payload } from './types.js';

export function operationalPayload(event: HooklineEvent): Payload {
  return {
    id: event.id,
    type: event.type,
    timestamp: event.occurredAt,
    tenantId: event.tenantId,
    data: event.data,
  };
}
