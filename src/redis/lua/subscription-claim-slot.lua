--[[
  Takes a slot of the tenant's subscription cap for a subscription, atomically. The set of live
  ids carries the member `~` once built. A tenant from before the cap existed has it built here,
  once, from its stored records: the first call answers -1, and the caller calls again with the
  index's ids and their records, so that every key the script reads is one it is given.

  KEYS[1] live    the tenant's live subscription ids (plus `~` once built)
  KEYS[2] index   the tenant's subscription index (a sorted set of ids)
  KEYS[...] only to build the live set: the record of each id in ARGV[3...], in that order
  ARGV[1] subscription id
  ARGV[2] cap
  ARGV[...] only to build the live set: every id of the index

  Returns 1 when it holds a slot (already or now), 0 when the tenant is full, -1 when the live set
  must be built first: call again with the index's ids and records (read again: they changed).
]]
if redis.call('EXISTS', KEYS[1]) == 0 then
  local n = #KEYS - 2
  if #ARGV - 2 ~= n or redis.call('ZCARD', KEYS[2]) ~= n then return -1 end
  for i = 1, n do
    if not redis.call('ZSCORE', KEYS[2], ARGV[i + 2]) then return -1 end
  end
  redis.call('SADD', KEYS[1], '~')
  for i = 1, n do
    local raw = redis.call('GET', KEYS[i + 2])
    if raw then
      local deleted = cjson.decode(raw).deletedAt
      if deleted == nil or deleted == cjson.null then redis.call('SADD', KEYS[1], ARGV[i + 2]) end
    end
  end
end
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) - 1 >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
return 1
