--[[
  Rate limit (a GCRA): takes a send slot for a delivery. A delivery whose slot is more than
  `lead` away gets it reserved and is held; when it comes back it is let through on time.

  Late: one that comes back more than `late` after its slot (its worker stalled, the queue was
  slow) takes a fresh slot instead, at the end of the line: sent at once, it would go beside the
  sends of the present, and a stalled worker's held deliveries, all let through together, were a
  burst over the rate. So does a caller whose in-process wait ended late (`retake`). Once per
  run: the fresh slot is marked (`|m`) and a marked slot is let through however late it comes
  back, so a delivery is never sent to the end of the line twice (a slow queue cannot hold it
  forever). A missed slot stays unused.

  KEYS[1] tat    the theoretical arrival time (ms, Redis clock)
  KEYS[2] slot   this delivery's reservation: `<ms>`, or `<ms>|m` once it has missed one
  ARGV[1] interval (ms between sends)
  ARGV[2] tolerance (ms early that is still allowed)
  ARGV[3] lead (ms a delivery may wait in-process)
  ARGV[4] late (ms past its slot that a reservation is still good for)
  ARGV[5] retake: 1 when the caller's in-process wait for its last slot ended late

  Returns {0, ms, final}: send after waiting ms in-process (final 1: it has missed a slot
  already, so it is sent even if that wait ends late), or {1, ms, 0}: hold ms (its slot is
  reserved).
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local lead = tonumber(ARGV[3])
local missed = ARGV[5] == '1'
local reserved = redis.call('GET', KEYS[2])
if reserved then
  local slot = tonumber(string.match(reserved, '^[^|]+'))
  local marked = string.find(reserved, '|', 1, true) ~= nil
  if slot - now > lead then return {1, math.ceil(slot - now - lead), 0} end
  redis.call('DEL', KEYS[2])
  if marked then return {0, math.max(0, math.ceil(slot - now)), 1} end
  if now - slot <= tonumber(ARGV[4]) then return {0, math.max(0, math.ceil(slot - now)), 0} end
  missed = true
end
local final = missed and 1 or 0
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1])) or 0
if tat < now then tat = now end
local wait = tat - now
redis.call('SET', KEYS[1], string.format('%.3f', tat + interval), 'PX', math.ceil(wait + interval) + 1000)
if wait <= tonumber(ARGV[2]) then return {0, 0, final} end
if wait <= lead then return {0, math.ceil(wait), final} end
redis.call('SET', KEYS[2], string.format('%.3f', tat) .. (missed and '|m' or ''), 'PX', math.ceil(wait) + 60000)
return {1, math.ceil(wait - lead), 0}
