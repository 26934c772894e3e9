--[[
  The JSON of each event, from the first of its places that holds it: a hash (field `e`, 0.2 on)
  or a string (an event stored before 0.2, read as is).

  KEYS[...] ARGV[1] places per event, in the order to try them
  ARGV[1] places per event

  Returns per event its JSON, or nil when no place holds it.
]]
local per, out = tonumber(ARGV[1]), {}
for i = 1, #KEYS / per do
  out[i] = false
  for j = (i - 1) * per + 1, i * per do
    local t = redis.call('TYPE', KEYS[j]).ok
    if t == 'hash' then out[i] = redis.call('HGET', KEYS[j], 'e') elseif t == 'string' then out[i] = redis.call('GET', KEYS[j]) end
    if out[i] then break end
  end
end
return out
