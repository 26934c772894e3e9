--[[
  Sets a delivery record's status if the record still exists (an expired one is not brought back),
  in its layout: the compact one (delivery-layout.ts REC: `s` code, `U` ms after `C`, `N` ms) or the older
  one (field `eventId`: names, ISO times).

  With the PostgreSQL history (ARGV[4] = 1), a record that ends is named in the history outbox.

  KEYS[1] rec   the delivery record hash
  KEYS[2] the history outbox stream (untouched when ARGV[4] is 0)
  ARGV[1] status
  ARGV[2] updatedAt (ISO)
  ARGV[3] nextAttemptAt (ISO or '')
  ARGV[4] 1: log ended records to the history outbox, 0: Redis keeps the history
  ARGV[5] the delivery id
  ARGV[6] updatedAt (ms)
  ARGV[7] nextAttemptAt (ms or '')

  Returns 1 when set, 0 when the record is gone.
]]
local CODE = { pending = 'p', retrying = 'r', succeeded = 's', failed = 'f', cancelled = 'c', superseded = 'x' }
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], 'eventId') == 1 then
  redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updatedAt', ARGV[2], 'nextAttemptAt', ARGV[3])
else
  local c = tonumber(redis.call('HGET', KEYS[1], 'C')) or 0
  redis.call('HSET', KEYS[1], 's', CODE[ARGV[1]], 'U', string.format('%d', tonumber(ARGV[6]) - c))
  if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'N', ARGV[7]) else redis.call('HDEL', KEYS[1], 'N') end
end
local s = ARGV[1]
if ARGV[4] == '1' and (s == 'succeeded' or s == 'failed' or s == 'cancelled' or s == 'superseded') then
  redis.call('XADD', KEYS[2], '*', 'x', ARGV[5])
end
return 1
