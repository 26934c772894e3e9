--[[
  Confirms claims once their events are queued: each field becomes `c` (held for the window) in
  the bucket it was claimed in.

  KEYS[...] per claim: the bucket it was written to
  ARGV[...] per claim: the field

  Returns the number of claims confirmed.
]]
for i, k in ipairs(KEYS) do redis.call('HSET', k, ARGV[i], 'c') end
return #KEYS
