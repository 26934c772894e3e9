--[[
  Links a delivery to the one that re-drives it, unless it has one already (HSETNX), and only
  while its record is here: with the PostgreSQL history an ended record may have moved there
  (the caller links it there instead), and a link must not leave a stray hash behind.

  The link's field is `d` in the compact layout (delivery-layout.ts REC), `redrivenTo` in the older one.

  KEYS[1] rec   the re-driven delivery's record hash
  ARGV[1] the re-driving delivery's id

  Returns 1 linked, 0 linked already (to this or another), -1 no record here.
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local legacy = redis.call('HEXISTS', KEYS[1], 'eventId') == 1
return redis.call('HSETNX', KEYS[1], legacy and 'redrivenTo' or 'd', ARGV[1])
