--[[
  Drops the Redis copies of a delivery now in PostgreSQL, if it is still ended (a re-driven record
  keeps its status; nothing else revives one), and its event's copy once no delivery of the event
  is left in Redis (the event hash holds `e` and one field per delivery).

  KEYS[1] rec   the delivery record hash
  KEYS[2] att   its attempts list
  KEYS[3] idx   its subscription's delivery index (sorted set)
  KEYS[4] evt   its event's hash
  ARGV[1] the delivery id
  ARGV[...] the final statuses

  Returns 1 when dropped, 0 when the record is gone or not ended.
]]
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
local final = false
for i = 2, #ARGV do if ARGV[i] == status then final = true end end
if not final then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
if redis.call('HLEN', KEYS[4]) <= 1 then redis.call('DEL', KEYS[4]) end
return 1
