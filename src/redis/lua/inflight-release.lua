--[[
  In-flight cap (src/resilience/in-flight.ts): per item, gives a delivery's lease back (if it has
  one, and drops it from the parked set if it is there); then, once per subscription, drops
  expired leases and hands the free room to the parked deliveries, oldest first. With an empty id
  it only sweeps (a lease that expired because its process died frees its room here). The
  give-backs of one event-loop turn come in one call, subscriptions mixed.

  Once per subscription (its leases key) in a call, after all its items are given back: one ZREM
  from the leases and one from the parked set (all its ids), ZREMRANGEBYSCORE, ZCARD, ZPOPMIN of
  the room (its highest cap of the call) with one ZADD and PEXPIRE of the leases, and the SREMs
  from waiting and active when nothing is parked (and nothing leased).

  KEYS[1] active   SET of subscription ids with leases or parked deliveries (metrics)
  KEYS[2] waiting  SET of subscription ids with parked deliveries (the sweep)
  KEYS[...] per item, two each: leases (ZSET delivery id → lease expiry, ms, Redis clock),
            parked (ZSET delivery id → arrival, µs, Redis clock)
  ARGV[1] lease ms
  ARGV[...] per item, three each: delivery id or '' to sweep only, cap (maxInFlight), subscription id

  Returns per item the ids of the parked deliveries given a lease (the caller wakes their jobs):
  a subscription's all on its last item of the call, none on its others.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
-- leases key → its subscription in this call: ids given back, highest cap, last item.
local subs, order = {}, {}
local results = {}
for i = 3, #KEYS, 2 do
  local leases = KEYS[i]
  local a = 2 + (i - 3) / 2 * 3
  local id, cap = ARGV[a], tonumber(ARGV[a + 1])
  local s = subs[leases]
  if not s then
    s = { parked = KEYS[i + 1], sub = ARGV[a + 2], cap = cap, ids = {} }
    subs[leases] = s
    order[#order + 1] = leases
  elseif cap > s.cap then
    s.cap = cap
  end
  if id ~= '' then s.ids[#s.ids + 1] = id end
  results[#results + 1] = {}
  s.last = #results
end
for _, leases in ipairs(order) do
  local s = subs[leases]
  if #s.ids > 0 then
    -- At most the batcher's 500 ids a call, and 2 × cap (≤ 2,000) below: within unpack's limit.
    redis.call('ZREM', leases, unpack(s.ids))
    redis.call('ZREM', s.parked, unpack(s.ids))
  end
  redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
  local count = redis.call('ZCARD', leases)
  local room = s.cap - count
  local empty = nil
  if room > 0 then
    local heads = redis.call('ZPOPMIN', s.parked, room)
    local k = #heads / 2
    if k > 0 then
      local expiry = string.format('%d', now + lease)
      local add, handed = {}, {}
      for h = 1, #heads, 2 do
        add[#add + 1] = expiry
        add[#add + 1] = heads[h]
        handed[#handed + 1] = heads[h]
      end
      count = count + redis.call('ZADD', leases, unpack(add))
      redis.call('PEXPIRE', leases, lease)
      results[s.last] = handed
    end
    if k < room then empty = true end
  end
  if empty == nil then empty = redis.call('EXISTS', s.parked) == 0 end
  if empty then
    redis.call('SREM', KEYS[2], s.sub)
    if count == 0 then redis.call('SREM', KEYS[1], s.sub) end
  end
end
return results
