--[[
  Sets a delivery record's status if the record still exists (an expired one is not brought back).

  KEYS[1] rec   the delivery record hash
  ARGV[1] status
  ARGV[2] updatedAt (ISO)
  ARGV[3] nextAttemptAt (ISO or '')

  Returns 1 when set, 0 when the record is gone.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updatedAt', ARGV[2], 'nextAttemptAt', ARGV[3])
return 1
