--[[
  Drops the Redis copies of a written batch (deliveries and events now in PostgreSQL), in one
  command.

  Per delivery: its record, attempts and index entry go if it is still ended (a re-driven record
  keeps its status; nothing else revives one), and its field in its event's hash; the event's copy
  goes once no delivery of it is left in Redis (the event hash holds `e` and one field per
  delivery). A record re-driven after it was read for the write (its `redrivenTo` differs from the
  one written) is kept and named in the outbox again, so the link reaches PostgreSQL too.
  Per event without a delivery in the batch: its copy goes once no delivery of it is left.

  KEYS[1] the history outbox stream
  KEYS[...] per delivery, four each: rec (the record hash), att (its attempts list: the older
            layout; none in the compact one, delivery-layout.ts REC), idx (its subscription's
            delivery index: lib/delivery-index.lua, the base of its chunk keys, and the older
            layout's sorted set), evt (its event's hash); then per event, one each: evt
  ARGV[1] the delivery count
  ARGV[2] the final statuses, separated by spaces
  ARGV[...] per delivery, two each: its id, the redrivenTo written to PostgreSQL ('' for none)

  Returns per delivery 1 when dropped, 0 when the record is gone or not ended, 2 when named again;
  then per event 1 when dropped, else 0.
]]
-- @include delivery-index
local NAME = { p = 'pending', r = 'retrying', s = 'succeeded', f = 'failed', c = 'cancelled', x = 'superseded' }
local n = tonumber(ARGV[1])
local final = {}
for s in string.gmatch(ARGV[2], '%S+') do final[s] = true end
local out = {}
-- Per event of a dropped delivery, its dropped ids: its fields go and its emptiness is checked
-- once, after the batch's deliveries (nothing else here writes an event's hash).
local evts, drops = {}, {}
for i = 1, n do
  local k, a = 2 + (i - 1) * 4, 3 + (i - 1) * 2
  local rec, att, idx, evt, id = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], ARGV[a]
  local cur = redis.call('HMGET', rec, 's', 'status', 'd', 'redrivenTo', 'C')
  local status = cur[1] and NAME[cur[1]] or cur[2]
  if not status or not final[status] then
    out[#out + 1] = 0
  elseif (cur[3] or cur[4] or '') ~= ARGV[a + 1] then
    redis.call('XADD', KEYS[1], '*', 'x', id)
    out[#out + 1] = 2
  else
    redis.call('DEL', rec, att)
    ix_remove(idx, tonumber(cur[5]), id)
    local ids = drops[evt]
    if not ids then
      ids = {}
      drops[evt], evts[#evts + 1] = ids, evt
    end
    ids[#ids + 1] = id
    out[#out + 1] = 1
  end
end
for _, evt in ipairs(evts) do
  redis.call('HDEL', evt, unpack(drops[evt]))
  if redis.call('HLEN', evt) <= 1 then redis.call('DEL', evt) end
end
for k = 2 + n * 4, #KEYS do
  if redis.call('HLEN', KEYS[k]) <= 1 then out[#out + 1] = redis.call('DEL', KEYS[k]) else out[#out + 1] = 0 end
end
return out
