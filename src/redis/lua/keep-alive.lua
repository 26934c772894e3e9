--[[
  Keeps existing keys at least ARGV[1] seconds (never shortens a TTL, never revives a key).

  KEYS[...] the keys to keep
  ARGV[1] ttl (seconds)

  Returns 1.
]]
local ttl = tonumber(ARGV[1])
for _, k in ipairs(KEYS) do
  local left = redis.call('TTL', k)
  if left ~= -2 and left < ttl then redis.call('EXPIRE', k, ttl) end
end
return 1
