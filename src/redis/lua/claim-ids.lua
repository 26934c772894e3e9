--[[
  Claims event ids (the 24 h idempotency claim, SPEC §2), compactly: a claim is a field
  `<tenant>|<id>` of a 6-hour bucket hash (one of IDEM_SHARDS per bucket, by the field's hash),
  not a key of its own (about 70 B instead of 180 B). A new claim is pending (`p<deadline>`, epoch
  s) until confirm-ids marks it `c` once its events are queued; a pending claim past its deadline
  is free again. An id is a duplicate while any bucket of the window holds it confirmed or
  pending, or while 0.3 holds it (a key by id alone whose value is the tenant).

  KEYS[...] per id, `w` + 1 keys each: the window's buckets of its shard (the first is the one
            written), then its 0.3 key
  ARGV[1] w, buckets per id
  ARGV[2] now (epoch seconds)
  ARGV[3] deadline of a pending claim (epoch seconds)
  ARGV[4] ttl of the written bucket (seconds)
  ARGV[...] per id: the field (`<tenant>|<id>`), the tenant

  Returns per id 1 claimed, 0 a duplicate.
]]
local w, now, deadline, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local per, out = w + 1, {}
for i = 1, #KEYS / per do
  local k, field, tenant = (i - 1) * per, ARGV[3 + 2 * i], ARGV[4 + 2 * i]
  local taken = redis.call('GET', KEYS[k + w + 1]) == tenant
  for b = 1, w do
    if taken then break end
    local v = redis.call('HGET', KEYS[k + b], field)
    if v and (v == 'c' or tonumber(string.sub(v, 2)) > now) then taken = true end
  end
  if taken then out[i] = 0
  else
    redis.call('HSET', KEYS[k + 1], field, 'p' .. deadline)
    if redis.call('TTL', KEYS[k + 1]) < 0 then redis.call('EXPIRE', KEYS[k + 1], ttl) end
    out[i] = 1
  end
end
return out
