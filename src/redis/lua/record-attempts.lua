--[[
  Appends attempts and sets statuses. Each record, its attempts and its event are kept at least
  `ttl` seconds from now (the retention plus the wait before its next attempt): an event is never
  gone before the last delivery that needs it. A succeeded status delivery raises its status mark
  (lib/status-marks.lua): written to the current slot's table when above the highest of the
  window (only ever raised).

  A record in the compact layout (0.5 on, delivery-layout.ts REC) gets its attempt appended to its `a` field
  (a JSON array of tuples; the tuple's leading 0 becomes the start's offset from `C`), its status
  code `s`, `U` (ms after `C`) and `N`; a record of the older layout (field `eventId`) gets them
  as it always did: the attempt JSON pushed on its list, ISO times.

  With the PostgreSQL history (ARGV[1] = 1 or 2), a record that ends (succeeded, failed) is named in
  the history outbox (`x` id) in the same command: the writer moves it. With 2, the reply also
  holds each such record's hash as this command left it (compact layout only), so the writer of
  this process need not read it back (src/store/history/recent.ts).

  KEYS[1] the history outbox stream (untouched when ARGV[1] is 0)
  KEYS[...] per record, four each: rec (record hash), att (attempts list of the older layout),
            evt (event hash), mark (the current mark table, routing only; rec when none)
  ARGV[1] 1: log ended records to the history outbox, 2: log them and answer their hashes,
          0: Redis keeps the history
  ARGV[2] base of the mark tables (`<prefix>:mk:`)
  ARGV[3] the current mark slot
  ARGV[4] expiry of the current mark table (epoch seconds)
  ARGV[...] per record, twelve each: attempt JSON (older layout; '' = not sent), status,
            updatedAt (ISO, older layout), nextAttemptAt (ISO or '', older layout), ttl (seconds), mark field (a digest; '' = none), mark value
            (src/domain/stale-status.ts packMark), the delivery id, updatedAt (ms), nextAttemptAt
            (ms or ''), the attempt's start (ms, or '' when the tuple holds it), the attempt tuple

  Returns the ids of the older-layout records sent without their attempt JSON (ARGV '', the
  first try: records of this layout need none), written nothing: send them again with it.
  With ARGV[1] = 2: { those ids, { id, HGETALL of its record, ... } of the records it logged }.
]]
-- @include linear-hash
-- @include status-marks
local CODE = { pending = 'p', retrying = 'r', succeeded = 's', failed = 'f', cancelled = 'c', superseded = 'x' }
local log = ARGV[1] == '1' or ARGV[1] == '2'
local give = ARGV[1] == '2'
local skipped, ended = {}, {}
local mkBase, mkSlot, mkExpire = ARGV[2], tonumber(ARGV[3]), ARGV[4]
for i = 2, #KEYS, 4 do
  local a = 5 + (i - 2) / 4 * 12
  local ttl = tonumber(ARGV[a + 4])
  local rec = KEYS[i]
  -- One read for the layout and the compact record's `C` and `a`.
  local cur = redis.call('HMGET', rec, 'eventId', 'C', 'a')
  local legacy = cur[1] ~= false
  if legacy and ARGV[a] == '' then
    -- An older-layout record, sent without its whole attempt: the caller sends it again with it.
    skipped[#skipped + 1] = ARGV[a + 7]
  elseif legacy then
    redis.call('RPUSH', KEYS[i + 1], ARGV[a])
    redis.call('HSET', rec, 'status', ARGV[a + 1], 'updatedAt', ARGV[a + 2], 'nextAttemptAt', ARGV[a + 3])
    redis.call('EXPIRE', KEYS[i + 1], ttl)
  else
    local c = tonumber(cur[2]) or 0
    local tuple = ARGV[a + 11]
    if ARGV[a + 10] ~= '' then
      tuple = '[' .. string.format('%d', tonumber(ARGV[a + 10]) - c) .. string.sub(tuple, 3)
    end
    local prev = cur[3]
    local all = prev and (string.sub(prev, 1, -2) .. ',' .. tuple .. ']') or ('[' .. tuple .. ']')
    local s, u = CODE[ARGV[a + 1]], string.format('%d', tonumber(ARGV[a + 8]) - c)
    if ARGV[a + 9] ~= '' then
      redis.call('HSET', rec, 's', s, 'U', u, 'a', all, 'N', ARGV[a + 9])
    else
      -- Even when `N` is absent: the same hash operations as ever keep HGETALL's field order.
      redis.call('HSET', rec, 's', s, 'U', u, 'a', all)
      redis.call('HDEL', rec, 'N')
    end
  end
  if not (legacy and ARGV[a] == '') then
    redis.call('EXPIRE', rec, ttl)
    if redis.call('TTL', KEYS[i + 2]) < ttl then redis.call('EXPIRE', KEYS[i + 2], ttl) end
    local field, value = ARGV[a + 5], ARGV[a + 6]
    if field ~= '' then
      mk_raise(mkBase, mkSlot, field, value, mkExpire)
    end
    local status = ARGV[a + 1]
    if log and (status == 'succeeded' or status == 'failed' or status == 'cancelled' or status == 'superseded') then
      redis.call('XADD', KEYS[1], '*', 'x', ARGV[a + 7])
      if give and not legacy then
        ended[#ended + 1] = ARGV[a + 7]
        ended[#ended + 1] = redis.call('HGETALL', rec)
      end
    end
  end
end
if give then return { skipped, ended } end
return skipped
