--[[
  Claims event ids (the 24 h idempotency claim, SPEC §2), compactly: a claim is a field of the
  linear-hashed table of its 6-hour slot (`<prefix>:idm:<slot>`, lib/linear-hash.lua), the field
  a 12-byte digest of tenant and id, so every bucket stays a small listpack (about 20 bytes a
  claim). A new claim is pending (its value the deadline, epoch s) until confirm-ids sets it to 0
  once its events are queued; a pending claim past its deadline is free again. An id is a
  duplicate while a table of the window (the next slot, the current one, the 4 before) holds it
  confirmed or pending, while a 0.3 key holds it (`idem:<id>`, its value the tenant), or while a
  0.4.0-pre bucket does (`idemh:<slot>:<shard>`, field `<tenant>|<id>`): those are read only in
  slots up to the first one this layout wrote (KEYS[1]), so not at all once they have expired.

  KEYS[1] since: the first slot this layout wrote (set here once, no expiry)
  ARGV[1] base of the slot tables (`<prefix>:idm:`)
  ARGV[2] base of 0.4.0-pre buckets (`<prefix>:idemh:`)
  ARGV[3] base of 0.3 keys (`<prefix>:idem:`)
  ARGV[4] the current slot (written to)
  ARGV[5] now (epoch seconds)
  ARGV[6] deadline of a pending claim (epoch seconds)
  ARGV[7] expiry of the current slot's table (epoch seconds)
  ARGV[...] per id, four each: digest, tenant, id, its 0.4.0-pre shard

  Returns per id 1 claimed, 0 a duplicate.
]]
-- @include linear-hash
local base, pre, v03 = ARGV[1], ARGV[2], ARGV[3]
local slot, now, deadline, expireat = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], ARGV[7]
local since = tonumber(redis.call('GET', KEYS[1]) or '-1')
if since < 0 then
  redis.call('SET', KEYS[1], slot)
  since = slot
end
local current = base .. slot
-- Whether a slot holds any 0.4.0-pre bucket (its 64 shards, LEGACY_SHARDS in publisher.ts),
-- asked once per slot per call: a deployment that never ran 0.4.0-pre reads none of them.
local pre_any = {}
local function pre_has(s)
  local v = pre_any[s]
  if v == nil then
    local shards = {}
    for k = 0, 63 do shards[k + 1] = pre .. s .. ':' .. k end
    v = redis.call('EXISTS', unpack(shards)) > 0
    pre_any[s] = v
  end
  return v
end
local out = {}
for i = 8, #ARGV, 4 do
  local digest, tenant, id = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local taken = redis.call('GET', v03 .. id) == tenant
  local here = false
  for s = slot + 1, slot - 4, -1 do
    if taken then break end
    local v = lh_get(base .. s, digest)
    if v and (v == '0' or tonumber(v) > now) then taken = true end
    if v and s == slot then here = true end
    if not taken and s <= since and pre_has(s) then
      local old = redis.call('HGET', pre .. s .. ':' .. ARGV[i + 3], tenant .. '|' .. id)
      if old and (old == 'c' or tonumber(string.sub(old, 2)) > now) then taken = true end
    end
  end
  if taken then out[#out + 1] = 0
  else
    if here then lh_put(current, digest, deadline, expireat)
    else lh_add(current, digest, deadline, expireat) end
    out[#out + 1] = 1
  end
end
return out
