// Reading stored events: the copy each fan-out writes (see delivery-fanout.ts) is what workers
// deliver and the API shows. Event ids are per tenant; events stored by older versions are read
// where they are (legacy-events.ts).
import type { HooklineEvent } from '../domain/event.js';
import { luaScript } from '../redis/scripts.js';
import { tickBatcher } from './batcher.js';
import type { DeliveryStoreContext, EventRef } from './delivery-types.js';
import { eventFromRedis } from './delivery-layout.js';
import { deliveryIdPlaces, eventKey, eventPlaces } from './legacy-events.js';

/** Per event, the JSON from the first of its `per` places that holds it. */
const GET_EVENTS = luaScript<string[], [per: number], (string | null)[]>('get-events');
/** A tenant's event's delivery ids, from its own hash and the older copy if it is the tenant's. */
const EVENT_DELIVERIES = luaScript<
  [evt: string, legacyEvt: string, legacySet: string],
  [tenantId: string],
  string[]
>('event-deliveries');

/** A stored event: compact (history/delivery-layout.ts eventToRedis, its tenant and id from `ref`) or whole. */
const parseStored = (raw: string | null | undefined, ref: EventRef) =>
  raw ? eventFromRedis(raw, { tenantId: ref.tenantId ?? '', id: ref.id }) : undefined;

export function createEventStorage({ redis, keys }: DeliveryStoreContext) {
  /** Each event's JSON from the first of its `per` keys that holds it. */
  const getEventsJson = (eventKeys: string[], per: 1 | 2) =>
    eventKeys.length === 0 ? Promise.resolve([]) : GET_EVENTS.run(redis, eventKeys, [per]);

  // Deliveries of one event often run together (a fan-out to many subscriptions): each event
  // asked for in a turn is read and parsed once.
  const loadEvent = tickBatcher<EventRef, HooklineEvent | undefined>(async (refs) => {
    const wanted = refs.map((ref) => eventKey(keys, ref));
    const refOf = new Map(wanted.map((key, i) => [key, refs[i]!]));
    const distinct = [...refOf.keys()];
    const raws = await getEventsJson(distinct, 1);
    const byKey = new Map<string, HooklineEvent | undefined>();
    distinct.forEach((key, i) => byKey.set(key, parseStored(raws[i], refOf.get(key)!)));
    return wanted.map((key) => byKey.get(key));
  });

  const events = {
    /** The event a job names (kept as long as its delivery records), for the worker: batched per turn. */
    loadEvent,

    /** A tenant's event by id: its own, never another tenant's of the same id. */
    async getEvent(tenantId: string, id: string): Promise<HooklineEvent | undefined> {
      return (await events.getEvents([{ tenantId, id }]))[0];
    },

    /** Events by tenant and id (an event stored before 0.4 under its id alone too, if the tenant's). */
    async getEvents(refs: { tenantId: string; id: string }[]): Promise<(HooklineEvent | undefined)[]> {
      const raws = await getEventsJson(
        refs.flatMap((r) => eventPlaces(keys, r.tenantId, r.id)),
        2,
      );
      return raws.map((raw, i) => {
        const event = parseStored(raw, refs[i]!);
        return event?.tenantId === refs[i]!.tenantId ? event : undefined;
      });
    },

    /** The ids of every delivery of a tenant's event (the stored event's other fields). */
    async idsForEvent(tenantId: string, eventId: string): Promise<string[]> {
      return EVENT_DELIVERIES.run(redis, deliveryIdPlaces(keys, tenantId, eventId), [tenantId]);
    },
  };
  return events;
}
