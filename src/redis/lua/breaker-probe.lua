--[[
  Circuit breaker: after the cool-down, takes the one probe (a SET NX lease). Decided in Redis,
  so a process with a stale view cannot take a second probe.

  KEYS[1] state   the breaker's hash
  KEYS[2] lease   the probe lease
  ARGV[1] threshold
  ARGV[2] lease (ms)
  ARGV[3] token (the job id)

  Returns {1, openUntil, now} probe, {2, 0, now} closed meanwhile, {0, openUntil, now} hold.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fo = redis.call('HMGET', KEYS[1], 'f', 'o')
if (tonumber(fo[1]) or 0) < tonumber(ARGV[1]) then return {2, 0, now} end
local o = tonumber(fo[2]) or 0
if o > now then return {0, o, now} end
if redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2], 'NX') then return {1, o, now} end
return {0, o, now}
