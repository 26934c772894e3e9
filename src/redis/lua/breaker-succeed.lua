--[[
  Circuit breaker: records a success, which closes it; a probe gives its lease back.

  KEYS[1] state   the breaker's hash
  KEYS[2] lease   the probe lease
  ARGV[1] probe token ('' = not a probe)

  Returns {failures cleared, open until it had (0: none), now}, times in Redis ms.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local f = tonumber(redis.call('HGET', KEYS[1], 'f')) or 0
local o = tonumber(redis.call('HGET', KEYS[1], 'o')) or 0
redis.call('DEL', KEYS[1])
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return {f, o, now}
