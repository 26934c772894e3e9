--[[
  Claims event ids for a short while (the idempotency claim; confirm-ids makes it last 24 h once
  the events are queued): SET key 1 EX ttl NX per (tenant, id) key. An id that 0.3 claimed for the
  same tenant (a key by id alone, the tenant its value) is not claimed again: a producer's retry
  across the upgrade stays a duplicate.

  KEYS[...] the n idempotency keys, then their n 0.3 keys
  ARGV[1] ttl of a claim, seconds
  ARGV[...] the n tenants, in the order of the keys

  Returns per id 1 claimed, 0 a duplicate.
]]
local n, out = #KEYS / 2, {}
for i = 1, n do
  if redis.call('GET', KEYS[n + i]) == ARGV[i + 1] then out[i] = 0
  else out[i] = redis.call('SET', KEYS[i], 1, 'EX', ARGV[1], 'NX') and 1 or 0 end
end
return out
