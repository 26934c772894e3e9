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
local lh_counts = {}

-- Fields ever added to a table (0: there is none), read once per script call.
local function lh_count(base)
  local n = lh_counts[base]
  if n == nil then
    n = tonumber(redis.call('GET', base) or '0')
    lh_counts[base] = n
  end
  return n
end

local function lh_size(base)
  return math.floor(lh_count(base) / LH_LOAD) + 1
end

local function lh_hash(field)
  local a, b, c, d = string.byte(field, 1, 4)
  return ((a * 256 + b) * 256 + (c or 0)) * 256 + (d or 0)
end

local function lh_pow2(n)
  local p = 1
  while p * 2 <= n do p = p * 2 end
  return p
end

local function lh_bucket(base, field)
  local n = lh_size(base)
  local p = lh_pow2(n)
  local h = lh_hash(field)
  local b = h % p
  if b < n - p then b = h % (p * 2) end
  return base .. ':' .. b
end

-- A field's value, or false (without a look when the table has no field at all).
local function lh_get(base, field)
  if lh_count(base) == 0 then return false end
  return redis.call('HGET', lh_bucket(base, field), field)
end

local function lh_set(key, field, value, expireat)
  redis.call('HSET', key, field, value)
  if redis.call('TTL', key) < 0 then redis.call('EXPIREAT', key, expireat) end
end

-- Adds a field the table does not hold yet, splitting a bucket when the table grows one.
local function lh_add(base, field, value, expireat)
  local before = lh_size(base)
  local count = redis.call('INCR', base)
  if count == 1 then redis.call('EXPIREAT', base, expireat) end
  lh_counts[base] = count
  if lh_size(base) > before then
    local p = lh_pow2(before)
    local from, to = base .. ':' .. (before - p), base .. ':' .. before
    local all = redis.call('HGETALL', from)
    for i = 1, #all, 2 do
      if lh_hash(all[i]) % (p * 2) == before then
        lh_set(to, all[i], all[i + 1], expireat)
        redis.call('HDEL', from, all[i])
      end
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
