--[[
  Deletes a key only while it holds the given value: releases a lock or lease that is still ours
  (an expired one may already belong to someone else).

  KEYS[1] the lock
  ARGV[1] the value it must hold (the holder's token)

  Returns 1 deleted, 0 not ours (or gone).
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
