--[[
  In-flight cap (src/resilience/in-flight.ts): per item, takes a lease for a delivery of one
  subscription, or parks it in arrival order. Expired leases (their process died) are dropped
  first, and free room goes to the parked deliveries first, oldest first: those are handed a
  lease (the caller wakes their jobs), so a newcomer never overtakes a parked delivery. The items
  of one event-loop turn come in one call, in the order they were asked for.

  KEYS[1] active   SET of subscription ids with leases or parked deliveries (metrics)
  KEYS[2] waiting  SET of subscription ids with parked deliveries (the sweep)
  KEYS[...] per item, two each: leases (ZSET delivery id → lease expiry, ms, Redis clock),
            parked (ZSET delivery id → arrival, µs, Redis clock)
  ARGV[1] lease ms
  ARGV[2] ms the parked set outlives its last arrival
  ARGV[...] per item, three each: delivery id, cap (maxInFlight), subscription id

  Returns per item {go, handed...}: go 1 (leased, or its lease renewed) or 0 (parked); handed:
  the ids of other deliveries given a lease here.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease, parkedTtl = tonumber(ARGV[1]), ARGV[2]
local expiry = string.format('%d', now + lease)
local results = {}
for i = 3, #KEYS, 2 do
  local leases, parked = KEYS[i], KEYS[i + 1]
  local a = 3 + (i - 3) / 2 * 3
  local id, cap, sub = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2]
  -- µs (written with %d: tostring keeps 14 digits), plus the item's place: one call's keep their order.
  local arrival = string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2]) + (i - 3) / 2)
  redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
  local out = {0}
  if redis.call('ZSCORE', leases, id) then
    out[1] = 1
  else
    local room = cap - redis.call('ZCARD', leases)
    if room > 0 then
      local heads = redis.call('ZPOPMIN', parked, room)
      for h = 1, #heads, 2 do
        redis.call('ZADD', leases, expiry, heads[h])
        if heads[h] == id then out[1] = 1 else out[#out + 1] = heads[h] end
      end
      room = room - #heads / 2
      -- Room left: nothing is parked any more.
      if out[1] == 0 and room > 0 then out[1] = 1 end
    end
    if out[1] == 0 then
      redis.call('ZADD', parked, 'NX', arrival, id)
      redis.call('PEXPIRE', parked, parkedTtl)
      redis.call('SADD', KEYS[2], sub)
    elseif redis.call('EXISTS', parked) == 0 then
      redis.call('SREM', KEYS[2], sub)
    end
  end
  if out[1] == 1 then redis.call('ZADD', leases, expiry, id) end
  redis.call('PEXPIRE', leases, lease)
  redis.call('SADD', KEYS[1], sub)
  results[#results + 1] = out
end
return results
