// Reading delivery records: a hash per delivery and a list of its attempts.
import type { Attempt, DeliveryRecord, DeliveryStatus } from '../domain/delivery-record.js';
import { execAll } from '../redis/exec-all.js';
import type { DeliveryStoreContext } from './delivery-types.js';

export function createDeliveryRecords({ redis, keys }: DeliveryStoreContext) {
  return {
    /** A delivery's status (undefined once gone) and how many attempts it has recorded. */
    async progress(id: string): Promise<{ status: DeliveryStatus | undefined; attempts: number }> {
      const [status, attempts] = await execAll(
        redis.pipeline().hget(keys.delivery(id), 'status').llen(keys.deliveryAttempts(id)),
      );
      return { status: (status as DeliveryStatus | null) ?? undefined, attempts: attempts as number };
    },

    async getStatus(id: string): Promise<DeliveryStatus | undefined> {
      return ((await redis.hget(keys.delivery(id), 'status')) as DeliveryStatus | null) ?? undefined;
    },

    async get(id: string): Promise<DeliveryRecord | undefined> {
      const [[, h], [, atts]] = (await redis
        .pipeline()
        .hgetall(keys.delivery(id))
        .lrange(keys.deliveryAttempts(id), 0, -1)
        .exec()) as [[unknown, Record<string, string>], [unknown, string[]]];
      return h && h.eventId ? toRecord(id, h, atts) : undefined;
    },

    async getMany(ids: string[], withAttempts = true): Promise<DeliveryRecord[]> {
      if (ids.length === 0) return [];
      const pipe = redis.pipeline();
      for (const id of ids) {
        pipe.hgetall(keys.delivery(id));
        if (withAttempts) pipe.lrange(keys.deliveryAttempts(id), 0, -1);
      }
      const res = (await pipe.exec()) ?? [];
      const out: DeliveryRecord[] = [];
      const step = withAttempts ? 2 : 1;
      for (let i = 0; i < res.length; i += step) {
        const h = res[i]![1] as Record<string, string>;
        if (h && h.eventId)
          out.push(toRecord(ids[i / step]!, h, withAttempts ? (res[i + 1]![1] as string[]) : []));
      }
      return out;
    },
  };
}

function toRecord(id: string, h: Record<string, string>, atts: string[]): DeliveryRecord {
  return {
    id,
    eventId: h.eventId!,
    subscriptionId: h.subscriptionId!,
    tenantId: h.tenantId!,
    target: h.target ?? 'subscription',
    status: (h.status ?? 'pending') as DeliveryStatus,
    createdAt: h.createdAt!,
    updatedAt: h.updatedAt ?? h.createdAt!,
    nextAttemptAt: h.nextAttemptAt || null,
    attempts: atts.map((a) => JSON.parse(a) as Attempt),
    ...(h.series ? { series: Number(h.series) } : {}),
    ...(h.retryOf ? { retryOf: h.retryOf } : {}),
    ...(h.redrivenTo ? { redrivenTo: h.redrivenTo } : {}),
    ...(h.supersededBy ? { supersededBy: h.supersededBy } : {}),
  };
}
