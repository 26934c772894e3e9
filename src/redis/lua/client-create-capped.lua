--[[
  Saves an API client unless its tenant already has its most clients.

  KEYS[1] clients   the tenant's set of client ids
  KEYS[2] client    the client record
  ARGV[1] client id
  ARGV[2] cap
  ARGV[3] client JSON

  Returns 1 saved, 0 the tenant is full.
]]
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[3])
return 1
