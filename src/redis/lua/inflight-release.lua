--[[
  In-flight cap (src/resilience/in-flight.ts): gives a delivery's lease back (if it has one, and
  drops it from the parked set if it is there), drops expired leases, and hands the free room to
  the parked deliveries, oldest first. With an empty id it only sweeps (a lease that expired
  because its process died frees its room here).

  KEYS[1] leases   ZSET delivery id → lease expiry (ms, Redis clock)
  KEYS[2] parked   ZSET delivery id → arrival (µs, Redis clock)
  KEYS[3] active   SET of subscription ids with leases or parked deliveries (metrics)
  KEYS[4] waiting  SET of subscription ids with parked deliveries (the sweep)
  ARGV[1] delivery id, or '' to sweep only
  ARGV[2] cap (maxInFlight)
  ARGV[3] lease ms
  ARGV[4] subscription id

  Returns the ids of the parked deliveries given a lease (the caller wakes their jobs).
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, cap, lease, sub = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
if id ~= '' then
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local handed = {}
local room = cap - redis.call('ZCARD', KEYS[1])
if room > 0 then
  local heads = redis.call('ZPOPMIN', KEYS[2], room)
  if #heads > 0 then
    local expiry = string.format('%d', now + lease)
    for i = 1, #heads, 2 do
      redis.call('ZADD', KEYS[1], expiry, heads[i])
      handed[#handed + 1] = heads[i]
    end
    redis.call('PEXPIRE', KEYS[1], lease)
  end
end
local parked = redis.call('EXISTS', KEYS[2])
if parked == 0 then
  redis.call('SREM', KEYS[4], sub)
  if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SREM', KEYS[3], sub) end
end
return handed
