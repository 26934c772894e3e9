--[[
  Before a queued attempt: ends a pending or retrying record `superseded` when its message's
  status mark (lib/status-marks.lua, read across the mark window) says a later status was delivered to its destination (a record in another state, a
  job run again after its attempt succeeded or a failed one retried from the board, is left as is).

  With the PostgreSQL history (ARGV[4] = 1), the superseded record is named in the history outbox.

  KEYS[1] rec    the delivery record hash
  KEYS[2] mark   the current mark table (routing only)
  KEYS[3] the history outbox stream (untouched when ARGV[4] is 0)
  ARGV[1] the mark's field (a digest of tenant, message and destination)
  ARGV[2] the delivery's stale rank
  ARGV[3] updatedAt (ISO)
  ARGV[4] 1: log ended records to the history outbox, 0: Redis keeps the history
  ARGV[5] the delivery id
  ARGV[6] base of the mark tables (`<prefix>:mk:`)
  ARGV[7] the current mark slot

  Returns the superseding delivery's id, or nil.
]]
-- @include linear-hash
-- @include status-marks
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'pending' and status ~= 'retrying' then return false end
local cur = mk_get(ARGV[6], tonumber(ARGV[7]), ARGV[1])
if not cur or mk_level(cur) <= tonumber(ARGV[2]) then return false end
local by = mk_by(cur)
redis.call('HSET', KEYS[1], 'status', 'superseded', 'supersededBy', by, 'updatedAt', ARGV[3], 'nextAttemptAt', '')
if ARGV[4] == '1' then redis.call('XADD', KEYS[3], '*', 'x', ARGV[5]) end
return by
