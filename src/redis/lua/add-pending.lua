--[[
  One fan-out (or re-drive): per event, its stored copy (a hash: field `e` the event JSON, the
  other fields its delivery ids) and per delivery a pending record (an existing one, from a re-run
  fan-out, keeps its status and its layout) and, for a record created here, its entry in the
  subscription's index (lib/delivery-index.lua: chunks of small sorted sets), trimmed to the
  retention. A new record is written in the compact layout (src/store/delivery-layout.ts REC:
  `E` event, `S` subscription, `T` tenant, `C` created ms, `s` status code, `g` target, `n`
  series, `R` retryOf, `b` supersededBy; no `U`: updated when created).
  A delivery whose message already had a later status delivered to its destination (a status
  mark, lib/status-marks.lua, read across the mark window) is created `superseded`.

  With the PostgreSQL history (ARGV[6] = 1), the history outbox gets by reference each new event
  (`v` tenant|id: written to PostgreSQL at once, its copy here kept while a delivery needs it) and
  each delivery created `superseded` (`x` id). Without it (Redis keeps the history) each event
  with a messageId is added to its message's entry in the current slot's message index (a
  linear-hashed table like the marks': field a 12-byte digest of tenant and message, value the
  event ids separated by spaces), for `GET /v1/deliveries?messageId=`.

  KEYS[1] the history outbox stream (untouched when ARGV[6] is 0)
  KEYS[...] per event: evt (the event hash), mark (the current mark table, routing only; evt when none),
            msg (the current message index table, routing only; evt when none),
            then per delivery of that event: rec (record hash), idx (the subscription's index, the
            base its chunk keys are built from)
  ARGV[1] ttl (seconds)
  ARGV[2] unused (was the creation time as ISO before 0.5)
  ARGV[3] created (epoch ms, the index score)
  ARGV[4] trim bound (epoch ms): index entries older than this are removed
  ARGV[5] event count
  ARGV[6] 1: log ended records to the history outbox, 0: Redis keeps the history
  ARGV[7] base of the mark tables (`<prefix>:mk:`)
  ARGV[8] the current mark slot (the message index's too)
  ARGV[9] base of the message index tables (`<prefix>:mx:`)
  ARGV[10] expiry of the current message index table (epoch seconds)
  ARGV[...] per event: id, JSON (compact, delivery-layout.ts eventToRedis), delivery count, stale rank
            (0: none), tenant, message index field (a digest; '' = not indexed),
            then per delivery: id, subscription, tenant, target, series, retryOf,
            mark field (a digest; '' = keeps stale statuses)

  Returns each delivery's status after the write, in order: `new` for a record created here,
  `dropped` for one created `superseded`, else the existing record's status.
]]
-- @include linear-hash
-- @include status-marks
-- @include delivery-index
local NAME = { p = 'pending', r = 'retrying', s = 'succeeded', f = 'failed', c = 'cancelled', x = 'superseded' }
local ttl, now, trim = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
local log = ARGV[6] == '1'
local mkBase, mkSlot, mxTable, mxExpire = ARGV[7], tonumber(ARGV[8]), ARGV[9] .. ARGV[8], ARGV[10]
local k, a, out, indexed, order = 2, 11, {}, {}, {}
for _ = 1, tonumber(ARGV[5]) do
  local evt = KEYS[k]
  local eventId, json, n, rank = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local tenant, mx = ARGV[a + 4], ARGV[a + 5]
  k, a = k + 3, a + 6
  local marked = rank > 0
  local newEvent = redis.call('HSET', evt, 'e', json) == 1
  if mx ~= '' then
    local key = lh_bucket(mxTable, mx)
    local ids = redis.call('HGET', key, mx)
    if not ids then lh_add(mxTable, mx, eventId, mxExpire)
    elseif not string.find(' ' .. ids .. ' ', ' ' .. eventId .. ' ', 1, true) then
      redis.call('HSET', key, mx, ids .. ' ' .. eventId)
    end
  end
  for _ = 1, n do
    local rec, idx, id = KEYS[k], KEYS[k + 1], ARGV[a]
    local fresh, dropped, status = 0, false, nil
    local cur = redis.call('HMGET', rec, 's', 'status')
    if cur[1] then status = NAME[cur[1]] elseif cur[2] then status = cur[2]
    else
      fresh = 1
      redis.call('HSET', rec, 'E', eventId, 'S', ARGV[a + 1], 'T', tenant, 'C', ARGV[3], 's', 'p')
      if ARGV[a + 3] ~= 'subscription' then redis.call('HSET', rec, 'g', ARGV[a + 3]) end
      if ARGV[a + 4] ~= '0' then redis.call('HSET', rec, 'n', ARGV[a + 4], 'R', ARGV[a + 5]) end
      if marked and ARGV[a + 6] ~= '' then
        local by = mk_get(mkBase, mkSlot, ARGV[a + 6])
        if by and mk_level(by) > rank then
          redis.call('HSET', rec, 's', 'x', 'b', mk_by(by))
          dropped = true
          if log then redis.call('XADD', KEYS[1], '*', 'x', id) end
        end
      end
    end
    redis.call('EXPIRE', rec, ttl)
    if fresh == 1 then
      if not indexed[idx] then
        indexed[idx] = {}
        order[#order + 1] = idx
      end
      table.insert(indexed[idx], id)
    end
    redis.call('HSET', evt, id, '')
    out[#out + 1] = dropped and 'dropped' or fresh == 1 and 'new' or status
    k, a = k + 2, a + 7
  end
  redis.call('EXPIRE', evt, ttl)
  if log and newEvent then
    redis.call('XADD', KEYS[1], '*', 'v', tenant .. '|' .. eventId)
  end
end
-- Each index written once, its entries in order (one score: this call's time).
for _, idx in ipairs(order) do
  ix_trim(idx, trim)
  ix_add(idx, now, indexed[idx], ttl)
end
return out
