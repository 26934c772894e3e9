-- Linear-hashed tables of small listpack hashes (src/redis/linear-hash.ts has the same addressing
-- in TypeScript). A table is a count key `<base>` (a string: fields ever added) and its buckets
-- `<base>:<n>`, n = 0 … B-1, B = floor(count / LH_LOAD) + 1. A field's first 4 bytes (a digest)
-- are its hash h; its bucket is h mod 2^L (2^L the largest power of two ≤ B), or h mod 2^(L+1)
-- when that lands on a bucket already split. Each added field that raises B splits one bucket
-- (its fields whose h mod 2^(L+1) names the new bucket move there), so a bucket holds about
-- LH_LOAD fields, at most about 2·LH_LOAD, whatever the table's size: under Redis 7's default
-- hash-max-listpack-entries (128), each bucket stays a listpack. The count never goes down (a
-- removed field leaves it), so an address never moves but by a split. Every key of a table gets
-- the same absolute expiry. Keys are built here from `base`, which carries the hash-tagged prefix
-- of the script's declared key (one Cluster slot, as BullMQ builds its keys in Lua).
local LH_LOAD = 40
-- Per table read by this call: { count, buckets, 2^L }.
local lh_tables = {}

local function lh_pow2(n)
  local p = 1
  while p * 2 <= n do p = p * 2 end
  return p
end

local function lh_state(base, count)
  local n = math.floor(count / LH_LOAD) + 1
  local t = { count, n, lh_pow2(n) }
  lh_tables[base] = t
  return t
end

-- A table's state, its count read once per script call (0: the table has no field).
local function lh_table(base)
  return lh_tables[base] or lh_state(base, tonumber(redis.call('GET', base) or '0'))
end

local function lh_hash(field)
  local a, b, c, d = string.byte(field, 1, 4)
  return ((a * 256 + b) * 256 + (c or 0)) * 256 + (d or 0)
end

local function lh_bucket(base, field)
  local t = lh_table(base)
  local h = lh_hash(field)
  local b = h % t[3]
  if b < t[2] - t[3] then b = h % (t[3] * 2) end
  return base .. ':' .. b
end

local function lh_get(base, field)
  if lh_table(base)[1] == 0 then return false end
  return redis.call('HGET', lh_bucket(base, field), field)
end

local function lh_set(key, field, value, expireat)
  redis.call('HSET', key, field, value)
  if redis.call('TTL', key) < 0 then redis.call('EXPIREAT', key, expireat) end
end

-- Adds a field the table does not hold yet, splitting a bucket when the table grows one.
local function lh_add(base, field, value, expireat)
  local before = lh_table(base)[2]
  local count = redis.call('INCR', base)
  if count == 1 then redis.call('EXPIREAT', base, expireat) end
  if lh_state(base, count)[2] > before then
    local p = lh_pow2(before)
    local from, to = base .. ':' .. (before - p), base .. ':' .. before
    local all, moved, names = redis.call('HGETALL', from), {}, {}
    for i = 1, #all, 2 do
      if lh_hash(all[i]) % (p * 2) == before then
        moved[#moved + 1], moved[#moved + 2], names[#names + 1] = all[i], all[i + 1], all[i]
      end
    end
    if #names > 0 then
      redis.call('HSET', to, unpack(moved))
      redis.call('EXPIREAT', to, expireat)
      redis.call('HDEL', from, unpack(names))
    end
  end
  lh_set(lh_bucket(base, field), field, value, expireat)
end

-- Sets a field: in place when the table holds it, else added.
local function lh_put(base, field, value, expireat)
  local key = lh_bucket(base, field)
  if redis.call('HEXISTS', key, field) == 1 then redis.call('HSET', key, field, value)
  else lh_add(base, field, value, expireat) end
end
