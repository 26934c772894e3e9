--[[
  Appends attempts and sets statuses. Each record, its attempts and its event are kept at least
  `ttl` seconds from now (the retention plus the wait before its next attempt): an event is never
  gone before the last delivery that needs it. A succeeded status delivery raises its status mark
  (lib/status-marks.lua): written to the current slot's table when above the highest of the
  window (only ever raised).

  With the PostgreSQL history (ARGV[1] = 1), a record that ends (succeeded, failed) is named in
  the history outbox (`x` id) in the same command: the writer moves it.

  KEYS[1] the history outbox stream (untouched when ARGV[1] is 0)
  KEYS[...] per record, four each: rec (record hash), att (attempts list), evt (event hash),
            mark (the current mark table, routing only; rec when none)
  ARGV[1] 1: log ended records to the history outbox, 0: Redis keeps the history
  ARGV[2] base of the mark tables (`<prefix>:mk:`)
  ARGV[3] the current mark slot
  ARGV[4] expiry of the current mark table (epoch seconds)
  ARGV[...] per record, eight each: attempt JSON, status, updatedAt (ISO), nextAttemptAt (ISO or
            ''), ttl (seconds), mark field (a digest; '' = none), mark value (src/domain/stale-status.ts packMark),
            the delivery id

  Returns the number of records written.
]]
-- @include linear-hash
-- @include status-marks
local log = ARGV[1] == '1'
local mkBase, mkSlot, mkExpire = ARGV[2], tonumber(ARGV[3]), ARGV[4]
for i = 2, #KEYS, 4 do
  local a = 5 + (i - 2) / 4 * 8
  local ttl = tonumber(ARGV[a + 4])
  redis.call('RPUSH', KEYS[i + 1], ARGV[a])
  redis.call('HSET', KEYS[i], 'status', ARGV[a + 1], 'updatedAt', ARGV[a + 2], 'nextAttemptAt', ARGV[a + 3])
  redis.call('EXPIRE', KEYS[i], ttl)
  redis.call('EXPIRE', KEYS[i + 1], ttl)
  if redis.call('TTL', KEYS[i + 2]) < ttl then redis.call('EXPIRE', KEYS[i + 2], ttl) end
  local field, value = ARGV[a + 5], ARGV[a + 6]
  if field ~= '' then
    mk_raise(mkBase, mkSlot, field, value, mkExpire)
  end
  local status = ARGV[a + 1]
  if log and (status == 'succeeded' or status == 'failed' or status == 'cancelled' or status == 'superseded') then
    redis.call('XADD', KEYS[1], '*', 'x', ARGV[a + 7])
  end
end
return (#KEYS - 1) / 4
