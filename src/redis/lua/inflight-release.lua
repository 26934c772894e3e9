--[[
  In-flight cap (src/resilience/in-flight.ts): per item, gives a delivery's lease back (if it has
  one, and drops it from the parked set if it is there), drops expired leases, and hands the free
  room to the parked deliveries, oldest first. With an empty id it only sweeps (a lease that
  expired because its process died frees its room here). The give-backs of one event-loop turn
  come in one call.

  KEYS[1] active   SET of subscription ids with leases or parked deliveries (metrics)
  KEYS[2] waiting  SET of subscription ids with parked deliveries (the sweep)
  KEYS[...] per item, two each: leases (ZSET delivery id → lease expiry, ms, Redis clock),
            parked (ZSET delivery id → arrival, µs, Redis clock)
  ARGV[1] lease ms
  ARGV[...] per item, three each: delivery id or '' to sweep only, cap (maxInFlight), subscription id

  Returns per item the ids of the parked deliveries given a lease (the caller wakes their jobs).
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
local results = {}
for i = 3, #KEYS, 2 do
  local leases, parked = KEYS[i], KEYS[i + 1]
  local a = 2 + (i - 3) / 2 * 3
  local id, cap, sub = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2]
  if id ~= '' then
    redis.call('ZREM', leases, id)
    redis.call('ZREM', parked, id)
  end
  redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
  local handed = {}
  local room = cap - redis.call('ZCARD', leases)
  if room > 0 then
    local heads = redis.call('ZPOPMIN', parked, room)
    if #heads > 0 then
      local expiry = string.format('%d', now + lease)
      for h = 1, #heads, 2 do
        redis.call('ZADD', leases, expiry, heads[h])
        handed[#handed + 1] = heads[h]
      end
      redis.call('PEXPIRE', leases, lease)
    end
  end
  if redis.call('EXISTS', parked) == 0 then
    redis.call('SREM', KEYS[2], sub)
    if redis.call('EXISTS', leases) == 0 then redis.call('SREM', KEYS[1], sub) end
  end
  results[#results + 1] = handed
end
return results
