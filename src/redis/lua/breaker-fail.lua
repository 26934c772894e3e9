--[[
  Circuit breaker: records a failed attempt. Opens the breaker at the threshold (and a failed
  probe opens it again for another cool-down); a probe gives its lease back.

  KEYS[1] state   the breaker's hash: f failures, s failing since (ms), o open until (ms)
  KEYS[2] lease   the probe lease
  ARGV[1] threshold (consecutive failures that open it)
  ARGV[2] cool-down (ms)
  ARGV[3] state TTL (ms)
  ARGV[4] probe token ('' = not a probe)

  Returns {failures, failingSince, openUntil (0: closed), now, opened (1: this failure opened it)},
  times in Redis ms.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local f = redis.call('HINCRBY', KEYS[1], 'f', 1)
local so = redis.call('HMGET', KEYS[1], 's', 'o')
local s = tonumber(so[1])
if not s then s = now; redis.call('HSET', KEYS[1], 's', s) end
local o = tonumber(so[2]) or 0
local opened = 0
if f >= tonumber(ARGV[1]) and (ARGV[4] ~= '' or o <= now) then
  if o == 0 then opened = 1 end
  o = now + tonumber(ARGV[2])
  redis.call('HSET', KEYS[1], 'o', o)
end
if ARGV[4] ~= '' and redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {f, s, o, now, opened}
