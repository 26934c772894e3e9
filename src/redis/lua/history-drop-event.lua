--[[
  Drops an event's Redis copy once it is in PostgreSQL and no delivery of it is left in Redis.

  KEYS[1] evt   the event's hash (`e` and one field per delivery)
  ARGV none

  Returns 1 when dropped, else 0.
]]
if redis.call('HLEN', KEYS[1]) <= 1 then return redis.call('DEL', KEYS[1]) end
return 0
