--[[
  Rate limit (a GCRA): takes a send slot for a delivery. A delivery whose slot is more than
  `lead` away gets it reserved and is held; when it comes back it is let through on time. One
  that comes back more than `late` after its slot (its worker stalled) takes a fresh slot:
  sending it at once would add it to the sends of the present, and a stalled worker's held
  deliveries, all let through together, would be a burst over the rate.

  KEYS[1] tat    the theoretical arrival time (ms, Redis clock)
  KEYS[2] slot   this delivery's reservation
  ARGV[1] interval (ms between sends)
  ARGV[2] tolerance (ms early that is still allowed)
  ARGV[3] lead (ms a delivery may wait in-process)
  ARGV[4] late (ms past its slot that a reservation is still good for)

  Returns {0, ms}: send after waiting ms in-process, or {1, ms}: hold ms (its slot is reserved).
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local lead = tonumber(ARGV[3])
local slot = tonumber(redis.call('GET', KEYS[2]))
if slot then
  if slot - now > lead then return {1, math.ceil(slot - now - lead)} end
  redis.call('DEL', KEYS[2])
  if now - slot <= tonumber(ARGV[4]) then return {0, math.max(0, math.ceil(slot - now))} end
end
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1])) or 0
if tat < now then tat = now end
local wait = tat - now
redis.call('SET', KEYS[1], string.format('%.3f', tat + interval), 'PX', math.ceil(wait + interval) + 1000)
if wait <= tonumber(ARGV[2]) then return {0, 0} end
if wait <= lead then return {0, math.ceil(wait)} end
redis.call('SET', KEYS[2], string.format('%.3f', tat), 'PX', math.ceil(wait) + 60000)
return {1, math.ceil(wait - lead)}
