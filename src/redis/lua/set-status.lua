--[[
  Sets a delivery record's status if the record still exists (an expired one is not brought back).

  With the PostgreSQL history (ARGV[4] = 1), a record that ends is named in the history outbox.

  KEYS[1] rec   the delivery record hash
  KEYS[2] the history outbox stream (untouched when ARGV[4] is 0)
  ARGV[1] status
  ARGV[2] updatedAt (ISO)
  ARGV[3] nextAttemptAt (ISO or '')
  ARGV[4] 1: log ended records to the history outbox, 0: Redis keeps the history
  ARGV[5] the delivery id

  Returns 1 when set, 0 when the record is gone.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updatedAt', ARGV[2], 'nextAttemptAt', ARGV[3])
local s = ARGV[1]
if ARGV[4] == '1' and (s == 'succeeded' or s == 'failed' or s == 'cancelled' or s == 'superseded') then
  redis.call('XADD', KEYS[2], '*', 'x', ARGV[5])
end
return 1
