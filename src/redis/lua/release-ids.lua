--[[
  Releases claims whose events could not be queued, so the producer's retry is not a duplicate.

  KEYS[...] per claim: the bucket it was written to
  ARGV[...] per claim: the field

  Returns the number of fields removed.
]]
local n = 0
for i, k in ipairs(KEYS) do n = n + redis.call('HDEL', k, ARGV[i]) end
return n
