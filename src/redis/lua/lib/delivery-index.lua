-- Delivery indexes (one per subscription, src/store/delivery-index.ts): entries scored by the
-- record's creation ms, members the delivery ids, ordered by score then id (byte-wise, as Redis
-- orders members). Kept in chunks of at most IX_MAX entries, small sorted sets that stay listpacks
-- under Redis's default zset-max-listpack-entries (128), each score stored as its offset from its
-- chunk's start (a 2-4 byte integer, not 9): about 35 bytes an entry, where one sorted set per
-- subscription (the layout before, a skiplist past 128 entries) costs about 118.
-- An index `<idx>` is its directory `<idx>:d` (a sorted set, every score 0, so ordered by member:
-- each chunk's start as `<score, 15 digits>\0<id>`) and a chunk `<idx>:<score>:<id>` per start,
-- holding the entries from its start up to the next start (the first chunk: also any before its
-- start). Entries are added in order to the last chunk; a full last chunk is followed by a new
-- one; a full chunk that an entry lands inside is split in two; an emptied chunk leaves the
-- directory. Chunks and directory get the retention as TTL on each write, and a write first drops
-- entries older than the retention (ix_trim: whole chunks, cheaply).
-- `<idx>` itself is the older layout's sorted set: read and merged until it expires, never written.
-- Keys are built from `idx`, a declared key, so they share its hash tag (one Cluster slot).
-- 120 entries of a delivery id (28 bytes) and an offset below 2^15 ms fill a 4 KB allocation.
local IX_MAX = 120
local IX_SPLIT = 60

-- a < b byte-wise (Lua's own `<` follows the server's collation locale).
local function ix_less(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

-- Entry (s1, id1) before (s2, id2) in the index's order.
local function ix_before(s1, id1, s2, id2)
  if s1 ~= s2 then return s1 < s2 end
  return ix_less(id1, id2)
end

local function ix_pad(s) return string.format('%015d', s) end
local function ix_member(s, id) return ix_pad(s) .. '\0' .. id end
local function ix_start_score(m) return tonumber(string.sub(m, 1, 15)) end

-- The chunk key of a directory member.
local function ix_chunk(idx, m)
  return idx .. ':' .. tostring(ix_start_score(m)) .. ':' .. string.sub(m, 17)
end

-- The start (directory member) of the chunk holding entry member `m`: the last start at or before
-- it, else the first chunk; nil for an index without chunks.
local function ix_find(dir, m)
  local got = redis.call('ZREVRANGEBYLEX', dir, '[' .. m, '-', 'LIMIT', 0, 1)
  if #got == 0 then got = redis.call('ZRANGEBYLEX', dir, '-', '+', 'LIMIT', 0, 1) end
  return got[1]
end

-- Drops entries scored below `bound`: whole chunks while the next one starts below it (one read
-- when none does), and from a chunk that is the index's only one. The first chunk of several may
-- keep some below the bound (fewer than IX_MAX, mostly of expired records) until it goes whole.
local function ix_trim(idx, bound)
  local dir = idx .. ':d'
  while true do
    local two = redis.call('ZRANGEBYLEX', dir, '-', '+', 'LIMIT', 0, 2)
    if #two == 0 then return end
    local first = ix_start_score(two[1])
    if two[2] and ix_start_score(two[2]) < bound then
      redis.call('DEL', ix_chunk(idx, two[1]))
      redis.call('ZREM', dir, two[1])
    elseif two[2] or first >= bound then
      return
    else
      local key = ix_chunk(idx, two[1])
      redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. string.format('%d', bound - first))
      -- Emptied: the next write starts the index again.
      if redis.call('EXISTS', key) == 0 then redis.call('ZREM', dir, two[1]) end
      return
    end
  end
end

-- Adds entries of one score `s` (their ids unsorted) to an index, every key written kept `ttl` s.
local function ix_add(idx, s, ids, ttl)
  local dir = idx .. ':d'
  if #ids > 1 then table.sort(ids, ix_less) end
  local prefix = ix_pad(s) .. '\0'
  local start, key, base, nxt, count
  local touched = { [dir] = true }
  for _, id in ipairs(ids) do
    local m = prefix .. id
    if not key or (nxt and not ix_less(m, nxt)) then
      -- Mostly an append: the last chunk's start is at or before the entry.
      start, nxt = redis.call('ZREVRANGEBYLEX', dir, '+', '-', 'LIMIT', 0, 1)[1], false
      local ss = start and ix_start_score(start)
      if not start then
        start = m
        redis.call('ZADD', dir, 0, m)
      elseif s < ss or (s == ss and ix_less(id, string.sub(start, 17))) then
        start = ix_find(dir, m)
        nxt = redis.call('ZRANGEBYLEX', dir, '(' .. start, '+', 'LIMIT', 0, 1)[1]
      end
      key, base = ix_chunk(idx, start), ix_start_score(start)
      count = redis.call('ZCARD', key)
    end
    if count >= IX_MAX then
      local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
      if not nxt and ix_before(base + tonumber(last[2]), last[1], s, id) then
        -- After everything: a new last chunk.
        start, key, base, count = m, ix_chunk(idx, m), s, 0
        redis.call('ZADD', dir, 0, m)
      else
        -- Inside a full chunk: its upper half moves to a chunk of its own (offsets from its start).
        local upper = redis.call('ZRANGE', key, IX_SPLIT, -1, 'WITHSCORES')
        local hs = base + tonumber(upper[2])
        local hm = ix_member(hs, upper[1])
        local hk = ix_chunk(idx, hm)
        local args = {}
        for i = 1, #upper, 2 do
          args[#args + 1] = string.format('%d', base + tonumber(upper[i + 1]) - hs)
          args[#args + 1] = upper[i]
        end
        redis.call('ZADD', hk, unpack(args))
        redis.call('ZREMRANGEBYRANK', key, IX_SPLIT, -1)
        redis.call('ZADD', dir, 0, hm)
        touched[hk] = true
        if ix_less(m, hm) then
          nxt, count = hm, IX_SPLIT
        else
          start, key, base, count = hm, hk, hs, #upper / 2
        end
      end
    end
    count = count + redis.call('ZADD', key, string.format('%d', s - base), id)
    touched[key] = true
  end
  for k in pairs(touched) do redis.call('EXPIRE', k, ttl) end
end

-- Removes an entry (score `s`, member `id`), from its chunk and from the older layout's set. A
-- chunk it empties leaves the directory (its range joins the chunk before, or the next one).
local function ix_remove(idx, s, id)
  redis.call('ZREM', idx, id)
  if not s then return end
  local dir = idx .. ':d'
  local start = ix_find(dir, ix_member(s, id))
  if not start then return end
  local key = ix_chunk(idx, start)
  redis.call('ZREM', key, id)
  if redis.call('EXISTS', key) == 0 then redis.call('ZREM', dir, start) end
end

-- Up to n entries scored within [min, max] (numbers; nil: unbounded), newest first (score then
-- id, descending), as a flat list id, score, …: the chunks' and the older layout's merged.
local function ix_range(idx, max, min, n)
  local dir = idx .. ':d'
  local got = {}
  -- Chunks starting at or before max, newest first; the first chunk when none does.
  local hi = max and ('(' .. ix_pad(max) .. '\1') or '+'
  local offset, visited = 0, 0
  while #got < 2 * n do
    local starts = redis.call('ZREVRANGEBYLEX', dir, hi, '-', 'LIMIT', offset, 16)
    if #starts == 0 and visited == 0 then
      starts = redis.call('ZRANGEBYLEX', dir, '-', '+', 'LIMIT', 0, 1)
    end
    if #starts == 0 then break end
    offset, visited = offset + #starts, visited + #starts
    local stop = false
    for _, st in ipairs(starts) do
      local base = ix_start_score(st)
      local part = redis.call('ZREVRANGEBYSCORE', ix_chunk(idx, st),
        max and string.format('%d', max - base) or '+inf', min and string.format('%d', min - base) or '-inf',
        'WITHSCORES', 'LIMIT', 0, n - #got / 2)
      for i = 1, #part, 2 do
        got[#got + 1], got[#got + 2] = part[i], string.format('%d', base + tonumber(part[i + 1]))
      end
      if #got >= 2 * n or (min and base < min) then
        stop = true
        break
      end
    end
    if stop or #starts < 16 then break end
  end
  if redis.call('EXISTS', idx) == 0 then return got end
  local old = redis.call('ZREVRANGEBYSCORE', idx, max and string.format('%d', max) or '+inf',
    min and string.format('%d', min) or '-inf', 'WITHSCORES', 'LIMIT', 0, n)
  local out, i, j = {}, 1, 1
  while #out < 2 * n and (i <= #got or j <= #old) do
    local take_old = i > #got
      or (j <= #old and ix_before(tonumber(got[i + 1]), got[i], tonumber(old[j + 1]), old[j]))
    if take_old then
      out[#out + 1], out[#out + 2], j = old[j], old[j + 1], j + 2
    else
      out[#out + 1], out[#out + 2], i = got[i], got[i + 1], i + 2
    end
  end
  return out
end
