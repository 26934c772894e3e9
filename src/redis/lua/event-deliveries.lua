--[[
  An event's delivery ids: its hash's fields but `e`, and those of the copy stored before 0.4
  under its id alone (a hash, or a pre-0.2 string beside a set of ids) if that one is the same
  tenant's.

  KEYS[1] evt             the event hash (by tenant and id)
  KEYS[2] legacy evt      the event stored before 0.4 (by id alone)
  KEYS[3] legacy set      the delivery ids of an event stored before 0.2
  ARGV[1] tenant

  Returns the delivery ids.
]]
local out = {}
local function add(ids) for _, f in ipairs(ids) do if f ~= 'e' then out[#out + 1] = f end end end
add(redis.call('HKEYS', KEYS[1]))
local t = redis.call('TYPE', KEYS[2]).ok
if t == 'hash' or t == 'string' then
  local json = t == 'hash' and redis.call('HGET', KEYS[2], 'e') or redis.call('GET', KEYS[2])
  local ok, e = pcall(cjson.decode, json)
  if ok and type(e) == 'table' and e.tenantId == ARGV[1] then
    add(t == 'hash' and redis.call('HKEYS', KEYS[2]) or redis.call('SMEMBERS', KEYS[3]))
  end
end
return out
