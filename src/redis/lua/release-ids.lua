--[[
  Releases claims whose events could not be queued, so the producer's retry is not a duplicate.

  KEYS[1] since (routing only: the tables share its hash-tagged prefix)
  ARGV[1] base of the slot tables (`<prefix>:idm:`)
  ARGV[...] per claim, two each: its slot, its digest

  Returns the number of fields removed.
]]
-- @include linear-hash
local n = 0
for i = 2, #ARGV, 2 do
  n = n + redis.call('HDEL', lh_bucket(ARGV[1] .. ARGV[i], ARGV[i + 1]), ARGV[i + 1])
end
return n
