--[[
  In-flight cap (src/resilience/in-flight.ts): per item, takes a lease for a delivery of one
  subscription, or parks it in arrival order. Expired leases (their process died) are dropped
  first, and free room goes to the parked deliveries first, oldest first: those are handed a
  lease (the caller wakes their jobs), so a newcomer never overtakes a parked delivery. The items
  of one event-loop turn come in one call, in the order they were asked for, subscriptions mixed.

  Once per subscription (its leases key) in a call: expired leases are dropped and the leases
  counted on its first item; the count is then kept here (ZADD answers the members it added) and
  so is whether its parked set is empty (known after a ZPOPMIN that found fewer than it asked
  for, or after a park), so ZPOPMIN is skipped when nothing is parked. After the last item: the
  leases' PEXPIRE, the SADD to active, and the SREM from waiting if an item took a lease and
  nothing is parked. Per item: ZSCORE (a renewal?) and ZADD; parking one (rare) adds its ZADD,
  PEXPIRE and SADD to waiting.

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
-- leases key → its subscription's state in this call: count (leases held), empty (its parked
-- set: true empty, false not, nil not known), went (an item took a lease, not a renewal).
local subs, order = {}, {}
local results = {}
for i = 3, #KEYS, 2 do
  local leases, parked = KEYS[i], KEYS[i + 1]
  local a = 3 + (i - 3) / 2 * 3
  local id, cap, sub = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2]
  local s = subs[leases]
  if not s then
    redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
    s = { sub = sub, parked = parked, count = redis.call('ZCARD', leases), went = false }
    subs[leases] = s
    order[#order + 1] = leases
  end
  local out = {0}
  if redis.call('ZSCORE', leases, id) then
    out[1] = 1
    redis.call('ZADD', leases, expiry, id)
  else
    local room = cap - s.count
    local leased = false
    if room > 0 then
      if s.empty ~= true then
        local heads = redis.call('ZPOPMIN', parked, room)
        local k = #heads / 2
        if k > 0 then
          local add = {}
          for h = 1, #heads, 2 do
            add[#add + 1] = expiry
            add[#add + 1] = heads[h]
            if heads[h] == id then
              out[1] = 1
              leased = true
            else
              out[#out + 1] = heads[h]
            end
          end
          -- At most 2 × cap (≤ 2,000) arguments: within unpack's limit.
          s.count = s.count + redis.call('ZADD', leases, unpack(add))
        end
        if k < room then s.empty = true else s.empty = nil end
        room = room - k
      end
      -- Room left: nothing is parked any more.
      if out[1] == 0 and room > 0 then out[1] = 1 end
    end
    if out[1] == 0 then
      -- µs (written with %d: tostring keeps 14 digits), plus the item's place: one call's keep their order.
      local arrival = string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2]) + (i - 3) / 2)
      redis.call('ZADD', parked, 'NX', arrival, id)
      redis.call('PEXPIRE', parked, parkedTtl)
      redis.call('SADD', KEYS[2], sub)
      s.empty = false
    else
      s.went = true
      if not leased then s.count = s.count + redis.call('ZADD', leases, expiry, id) end
    end
  end
  results[#results + 1] = out
end
for _, leases in ipairs(order) do
  local s = subs[leases]
  redis.call('PEXPIRE', leases, lease)
  redis.call('SADD', KEYS[1], s.sub)
  if s.went then
    if s.empty == nil then s.empty = redis.call('EXISTS', s.parked) == 0 end
    if s.empty then redis.call('SREM', KEYS[2], s.sub) end
  end
end
return results
