--[[
  In-flight cap (src/resilience/in-flight.ts): takes a lease for a delivery of one subscription,
  or parks it in arrival order. Expired leases (their process died) are dropped first, and free
  room goes to the parked deliveries first, oldest first: those are handed a lease (the caller
  wakes their jobs), so a newcomer never overtakes a parked delivery.

  KEYS[1] leases   ZSET delivery id → lease expiry (ms, Redis clock)
  KEYS[2] parked   ZSET delivery id → arrival (µs, Redis clock)
  KEYS[3] active   SET of subscription ids with leases or parked deliveries (metrics)
  KEYS[4] waiting  SET of subscription ids with parked deliveries (the sweep)
  ARGV[1] delivery id
  ARGV[2] cap (maxInFlight)
  ARGV[3] lease ms
  ARGV[4] subscription id
  ARGV[5] ms the parked set outlives its last arrival

  Returns {go, handed...}: go 1 (leased, or its lease renewed) or 0 (parked); handed: the ids of
  other deliveries given a lease here.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- µs as a string: a Lua number would be written with 14 significant digits only.
local arrival = t[1] .. string.format('%06d', tonumber(t[2]))
local id, cap, lease, sub = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local expiry = string.format('%d', now + lease)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {0}
if redis.call('ZSCORE', KEYS[1], id) then
  out[1] = 1
else
  local room = cap - redis.call('ZCARD', KEYS[1])
  if room > 0 then
    local heads = redis.call('ZPOPMIN', KEYS[2], room)
    for i = 1, #heads, 2 do
      redis.call('ZADD', KEYS[1], expiry, heads[i])
      if heads[i] == id then out[1] = 1 else out[#out + 1] = heads[i] end
    end
    room = room - #heads / 2
    -- Room left: nothing is parked any more.
    if out[1] == 0 and room > 0 then out[1] = 1 end
  end
  if out[1] == 0 then
    redis.call('ZADD', KEYS[2], 'NX', arrival, id)
    redis.call('PEXPIRE', KEYS[2], ARGV[5])
    redis.call('SADD', KEYS[4], sub)
  elseif redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('SREM', KEYS[4], sub)
  end
end
if out[1] == 1 then redis.call('ZADD', KEYS[1], expiry, id) end
redis.call('PEXPIRE', KEYS[1], lease)
redis.call('SADD', KEYS[3], sub)
return out
