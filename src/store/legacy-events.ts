// Where an event may be stored, across three layouts, so events written by older versions are
// still read (never written): 0.4 on, a hash per tenant and id (field `e` the JSON, the other
// fields its delivery ids); 0.2 and 0.3, the same hash under the id alone; before 0.2, the JSON
// as a string under the id alone, its delivery ids in a set beside it. The scripts that read
// them (get-events.lua, event-deliveries.lua) accept each layout.
import type { Keys } from '../redis/client.js';
import type { EventRef } from './delivery-types.js';

/** The one place a job's event is: its tenant's, or (a job queued before 0.4) its id alone. */
export const eventKey = (keys: Keys, ref: EventRef) =>
  ref.tenantId === undefined ? keys.legacyEvent(ref.id) : keys.event(ref.tenantId, ref.id);

/** A tenant's event's places, in the order to try them (an older one only if the tenant's). */
export const eventPlaces = (keys: Keys, tenantId: string, id: string): [string, string] => [
  keys.event(tenantId, id),
  keys.legacyEvent(id),
];

/** Where a tenant's event's delivery ids are: its hash, the 0.2-0.3 hash, the pre-0.2 set. */
export const deliveryIdPlaces = (keys: Keys, tenantId: string, id: string): [string, string, string] => [
  keys.event(tenantId, id),
  keys.legacyEvent(id),
  keys.legacyEventDeliveries(id),
];
