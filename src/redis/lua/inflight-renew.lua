--[[
  In-flight cap (src/resilience/in-flight.ts): extends the leases a process holds while their
  attempts are under way. A lease that is gone already (it expired) is not taken back.

  KEYS[1] leases   ZSET delivery id → lease expiry (ms, Redis clock)
  ARGV[1] lease ms
  ARGV[...] the delivery ids

  Returns how many leases were extended.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = string.format('%d', now + tonumber(ARGV[1]))
local args = {'XX', 'CH'}
for i = 2, #ARGV do
  args[#args + 1] = expiry
  args[#args + 1] = ARGV[i]
end
local n = redis.call('ZADD', KEYS[1], unpack(args))
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
