--[[
  Confirms claims once their events are queued: each field becomes 0 (held for the window) in the
  slot table it was claimed in (lib/linear-hash.lua finds its bucket now: a split may have moved it).

  KEYS[1] since (routing only: the tables share its hash-tagged prefix)
  ARGV[1] base of the slot tables (`<prefix>:idm:`)
  ARGV[...] per claim, two each: its slot, its digest

  Returns the number of claims confirmed.
]]
-- @include linear-hash
local n = 0
for i = 2, #ARGV, 2 do
  local key = lh_bucket(ARGV[1] .. ARGV[i], ARGV[i + 1])
  if redis.call('HEXISTS', key, ARGV[i + 1]) == 1 then
    redis.call('HSET', key, ARGV[i + 1], 0)
    n = n + 1
  end
end
return n
