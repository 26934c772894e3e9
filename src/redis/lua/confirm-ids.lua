--[[
  Makes claimed ids last the idempotency window once their events are queued.

  KEYS[...] the idempotency keys
  ARGV[1] the window, seconds

  Returns the number of keys.
]]
for _, k in ipairs(KEYS) do redis.call('EXPIRE', k, ARGV[1]) end
return #KEYS
