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
  ARGV[6] updatedAt (ms), for a record of the compact layout (delivery-layout.ts REC)
  ARGV[7] base of the mark tables (`<prefix>:mk:`)
  ARGV[8] the current mark slot

  Returns the superseding delivery's id, or nil.
]]
-- @include linear-hash
-- @include status-marks
local rec = redis.call('HMGET', KEYS[1], 's', 'status', 'C')
local compact = rec[1] ~= false
local status = compact and rec[1] or rec[2]
if status ~= 'pending' and status ~= 'retrying' and status ~= 'p' and status ~= 'r' then return false end
local cur = mk_get(ARGV[7], tonumber(ARGV[8]), ARGV[1])
if not cur or mk_level(cur) <= tonumber(ARGV[2]) then return false end
local by = mk_by(cur)
if compact then
  redis.call('HSET', KEYS[1], 's', 'x', 'b', by, 'U', string.format('%d', tonumber(ARGV[6]) - (tonumber(rec[3]) or 0)))
  redis.call('HDEL', KEYS[1], 'N')
else
  redis.call('HSET', KEYS[1], 'status', 'superseded', 'supersededBy', by, 'updatedAt', ARGV[3], 'nextAttemptAt', '')
end
if ARGV[4] == '1' then redis.call('XADD', KEYS[3], '*', 'x', ARGV[5]) end
return by
