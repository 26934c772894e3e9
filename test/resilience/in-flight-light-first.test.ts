// The in-flight cap's batched Redis calls, light subscriptions first (issue 18): when one turn
// holds a burst of one subscription's acquires beside another's few, the few are sent as a
// script call of their own ahead of the burst's and answered first, so their deliveries go on
// to their requests before the burst's do. Real Redis, own key prefix.
import { describe, expect, it } from 'vitest';
import { createInFlightCap } from '../../src/resilience/in-flight.js';
import { useRedisPrefix } from '../helpers/harness.js';
import { countScripts } from './support.js';

const { redis, keys } = useRedisPrefix();

describe('in-flight cap, light subscriptions first', () => {
  it("answers a light subscription's acquires before a burst's made in the same turn, all leased", async () => {
    const cap = createInFlightCap(redis, keys, { leaseMs: 20_000 });
    // Scripts loaded first: a first call's NOSCRIPT fallback would count twice.
    await cap.acquire('sub_warm', 'dlv_w', 1);
    await cap.release('sub_warm', 'dlv_w', 1);
    const scripts = countScripts(redis);
    const before = scripts.calls();
    const order: string[] = [];
    const burst = Array.from({ length: 40 }, (_, i) =>
      cap.acquire('sub_burst', `dlv_a${i}`, 100).then((v) => order.push(`a:${v.go}`)),
    );
    const few = Array.from({ length: 3 }, (_, i) =>
      cap.acquire('sub_few', `dlv_b${i}`, 100).then((v) => order.push(`b:${v.go}`)),
    );
    await Promise.all([...burst, ...few]);
    // Two script calls (the few's, then the burst's), and the few's callers went on first.
    expect(scripts.calls() - before).toBe(2);
    expect(order.slice(0, 3)).toEqual(['b:true', 'b:true', 'b:true']);
    expect(order.filter((o) => o === 'a:true')).toHaveLength(40);
    expect(await redis.zcard(keys.inFlight('sub_burst'))).toBe(40);
    expect(await redis.zcard(keys.inFlight('sub_few'))).toBe(3);
    for (let i = 0; i < 40; i++) await cap.release('sub_burst', `dlv_a${i}`, 100);
    for (let i = 0; i < 3; i++) await cap.release('sub_few', `dlv_b${i}`, 100);
    expect(await redis.zcard(keys.inFlight('sub_burst'))).toBe(0);
  });
});
