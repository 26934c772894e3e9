// Reading delivery records: a hash per delivery, its attempts inside it (the compact layout,
// delivery-layout.ts REC), or beside it in a list (records written before 0.5).
import type { DeliveryRecord, DeliveryStatus } from '../domain/delivery-record.js';
import { execAll } from '../redis/exec-all.js';
import type { DeliveryStoreContext } from './delivery-types.js';
import { attemptCount, recordFromRedis, statusFromRedis } from './delivery-layout.js';

export function createDeliveryRecords({ redis, keys }: DeliveryStoreContext) {
  async function getMany(ids: string[], withAttempts = true): Promise<DeliveryRecord[]> {
    if (ids.length === 0) return [];
    const pipe = redis.pipeline();
    for (const id of ids) pipe.hgetall(keys.delivery(id));
    const hashes = (await execAll(pipe)) as Record<string, string>[];
    // Only records of the older layout keep their attempts in a list beside them.
    const legacy = withAttempts ? ids.filter((_, i) => hashes[i]!.eventId !== undefined) : [];
    const lists = new Map<string, string[]>();
    if (legacy.length > 0) {
      const lp = redis.pipeline();
      for (const id of legacy) lp.lrange(keys.deliveryAttempts(id), 0, -1);
      (await execAll(lp)).forEach((l, i) => lists.set(legacy[i]!, l as string[]));
    }
    const out: DeliveryRecord[] = [];
    ids.forEach((id, i) => {
      const r = recordFromRedis(id, hashes[i]!, lists.get(id), withAttempts);
      if (r) out.push(r);
    });
    return out;
  }

  return {
    /** A delivery's status (undefined once gone) and how many attempts it has recorded. */
    async progress(id: string): Promise<{ status: DeliveryStatus | undefined; attempts: number }> {
      const [fields, legacy] = await execAll(
        redis.pipeline().hmget(keys.delivery(id), 's', 'status', 'a').llen(keys.deliveryAttempts(id)),
      );
      const [code, status, a] = fields as (string | null)[];
      return {
        status: statusFromRedis(code, status),
        attempts: code ? attemptCount(a ?? null) : (legacy as number),
      };
    },

    async getStatus(id: string): Promise<DeliveryStatus | undefined> {
      const [code, status] = await redis.hmget(keys.delivery(id), 's', 'status');
      return statusFromRedis(code, status);
    },

    async get(id: string): Promise<DeliveryRecord | undefined> {
      return (await getMany([id]))[0];
    },

    getMany,
  };
}
