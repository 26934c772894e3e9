--[[
  One fan-out (or re-drive): per event, its stored copy (a hash: field `e` the event JSON, the
  other fields its delivery ids) and per delivery a pending record (an existing one, from a re-run
  fan-out, keeps its status and its layout) and its entry in the subscription's index, trimmed to
  the retention. A new record is written in the compact layout (src/store/history/delivery-layout.ts REC:
  `E` event, `S` subscription, `T` tenant, `C` created ms, `s` status code, `g` target, `n`
  series, `R` retryOf, `b` supersededBy; no `U`: updated when created).
  A delivery whose message already had a later status delivered to its destination (the message's
  status mark) is created `superseded`.

  With the PostgreSQL history (ARGV[6] = 1), the history outbox gets by reference each new event
  (`v` tenant|id: written to PostgreSQL at once, its copy here kept while a delivery needs it) and
  each delivery created `superseded` (`x` id). Without it (Redis keeps the history) each event
  with a messageId is added to its message's hash (field `e:<event id>`, beside the status marks),
  for `GET /v1/deliveries?messageId=`.

  KEYS[1] the history outbox stream (untouched when ARGV[6] is 0)
  KEYS[...] per event: evt (the event hash), mark (its message's status mark; evt when none),
            msg (its message's hash, for the event index; evt when none),
            then per delivery of that event: rec (record hash), idx (the subscription's index)
  ARGV[1] ttl (seconds)
  ARGV[2] unused (was the creation time as ISO before 0.5)
  ARGV[3] created (epoch ms, the index score)
  ARGV[4] trim bound (epoch ms): index entries older than this are removed
  ARGV[5] event count
  ARGV[6] 1: log ended records to the history outbox, 0: Redis keeps the history
  ARGV[...] per event: id, JSON (compact, delivery-layout.ts eventToRedis), delivery count, stale rank
            (0: none), tenant,
            then per delivery: id, subscription, tenant, target, series, retryOf,
            mark field ('' = keeps stale statuses)

  Returns each delivery's status after the write, in order: `new` for a record created here,
  `dropped` for one created `superseded`, else the existing record's status.
]]
local NAME = { p = 'pending', r = 'retrying', s = 'succeeded', f = 'failed', c = 'cancelled', x = 'superseded' }
local ttl, now, trim = ARGV[1], ARGV[3], '(' .. ARGV[4]
local log = ARGV[6] == '1'
local k, a, out, trimmed = 2, 7, {}, {}
for _ = 1, tonumber(ARGV[5]) do
  local evt, mark, msg = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local eventId, json, n, rank = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local tenant = ARGV[a + 4]
  k, a = k + 3, a + 5
  local marked = rank > 0 and redis.call('EXISTS', mark) == 1
  local newEvent = redis.call('HSET', evt, 'e', json) == 1
  if msg ~= evt then
    redis.call('HSET', msg, 'e:' .. eventId, '')
    if redis.call('TTL', msg) < tonumber(ttl) then redis.call('EXPIRE', msg, ttl) end
  end
  for _ = 1, n do
    local rec, idx, id = KEYS[k], KEYS[k + 1], ARGV[a]
    local fresh, dropped, status = 0, false, nil
    local cur = redis.call('HMGET', rec, 's', 'status')
    if cur[1] then status = NAME[cur[1]] elseif cur[2] then status = cur[2]
    else
      fresh = 1
      redis.call('HSET', rec, 'E', eventId, 'S', ARGV[a + 1], 'T', tenant, 'C', now, 's', 'p')
      if ARGV[a + 3] ~= 'subscription' then redis.call('HSET', rec, 'g', ARGV[a + 3]) end
      if ARGV[a + 4] ~= '0' then redis.call('HSET', rec, 'n', ARGV[a + 4], 'R', ARGV[a + 5]) end
      if marked and ARGV[a + 6] ~= '' then
        local by = redis.call('HGET', mark, ARGV[a + 6])
        if by and tonumber(string.sub(by, 1, 1)) > rank then
          redis.call('HSET', rec, 's', 'x', 'b', string.sub(by, 3))
          dropped = true
          if log then redis.call('XADD', KEYS[1], '*', 'x', id) end
        end
      end
    end
    redis.call('EXPIRE', rec, ttl)
    redis.call('ZADD', idx, now, id)
    if not trimmed[idx] then
      trimmed[idx] = true
      redis.call('ZREMRANGEBYSCORE', idx, '-inf', trim)
      redis.call('EXPIRE', idx, ttl)
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
return out
