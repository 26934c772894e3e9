--[[
  Drops the Redis copies of a delivery now in PostgreSQL, if it is still ended (a re-driven record
  keeps its status; nothing else revives one), and its event's copy once no delivery of the event
  is left in Redis (the event hash holds `e` and one field per delivery).

  A record re-driven after it was read for the write (its `redrivenTo` differs from the one
  written) is kept and named in the outbox again, so the link reaches PostgreSQL too.

  KEYS[1] rec   the delivery record hash
  KEYS[2] att   its attempts list (the older layout; none in the compact one, delivery-layout.ts REC)
  KEYS[3] idx   its subscription's delivery index (lib/delivery-index.lua: the base of its chunk
                keys, and the older layout's sorted set)
  KEYS[4] evt   its event's hash
  KEYS[5] the history outbox stream
  ARGV[1] the delivery id
  ARGV[2] the redrivenTo written to PostgreSQL ('' for none)
  ARGV[...] the final statuses

  Returns 1 when dropped, 0 when the record is gone or not ended, 2 when named again.
]]
-- @include delivery-index
local NAME = { p = 'pending', r = 'retrying', s = 'succeeded', f = 'failed', c = 'cancelled', x = 'superseded' }
local cur = redis.call('HMGET', KEYS[1], 's', 'status', 'd', 'redrivenTo', 'C')
local status = cur[1] and NAME[cur[1]] or cur[2]
if not status then return 0 end
local final = false
for i = 3, #ARGV do if ARGV[i] == status then final = true end end
if not final then return 0 end
if (cur[3] or cur[4] or '') ~= ARGV[2] then
  redis.call('XADD', KEYS[5], '*', 'x', ARGV[1])
  return 2
end
redis.call('DEL', KEYS[1], KEYS[2])
ix_remove(KEYS[3], tonumber(cur[5]), ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
if redis.call('HLEN', KEYS[4]) <= 1 then redis.call('DEL', KEYS[4]) end
return 1
