--[[
  History outbox: appends entries unless the stream would exceed its bound (all or nothing).

  KEYS[1] stream
  ARGV[1] most entries
  ARGV[...] then field, value per entry

  Returns the new length, or -1 when refused.
]]
local count = (#ARGV - 1) / 2
if redis.call('XLEN', KEYS[1]) + count > tonumber(ARGV[1]) then return -1 end
for i = 2, #ARGV, 2 do redis.call('XADD', KEYS[1], '*', ARGV[i], ARGV[i + 1]) end
return redis.call('XLEN', KEYS[1])
