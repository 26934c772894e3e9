-- Stale-status marks (src/domain/stale-status.ts), after linear-hash: one linear-hashed table per
-- time slot (`<prefix>:mk:<slot>`), a field per message and destination (a 12-byte digest), its
-- value the level delivered there and the delivery that did it: the level digit then either the
-- delivery id's 18 bytes (`dlv_` + 24 base64url characters, 19 bytes in all) or `:` and the id.
-- A mark is written to the slot of its write and read in the slots of the window (the next one,
-- for clocks ahead, the current one and MK_BACK before), the highest level winning.
local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

-- The delivery id a mark value names.
local function mk_by(v)
  if #v ~= 19 then return string.sub(v, 3) end
  local out = { 'dlv_' }
  for i = 2, 19, 3 do
    local a, b, c = string.byte(v, i, i + 2)
    local n = (a * 256 + b) * 256 + c
    for s = 18, 0, -6 do
      local x = math.floor(n / 2 ^ s) % 64 + 1
      out[#out + 1] = string.sub(B64, x, x)
    end
  end
  return table.concat(out)
end

local mk_level = function(v) return tonumber(string.sub(v, 1, 1)) end

-- The highest mark of `field` in the window of `slot` (tables `<base><slot>`), or nil. MK_BACK is
-- src/store/status-marks.ts's MARK_BACK.
local MK_BACK = 2

-- The window's table names of `slot`, built once per script call.
local mk_windows = {}
local function mk_window(base, slot)
  local key = base .. slot
  local w = mk_windows[key]
  if not w then
    w = {}
    for s = slot + 1, slot - MK_BACK, -1 do w[#w + 1] = base .. s end
    mk_windows[key] = w
  end
  return w
end

local function mk_get(base, slot, field)
  local best
  for _, t in ipairs(mk_window(base, slot)) do
    local v = lh_get(t, field)
    if v and (not best or mk_level(v) > mk_level(best)) then best = v end
  end
  return best
end

-- Raises a mark: written to the current slot's table (in place when it holds the field) unless
-- the window holds it at the same level or higher.
local function mk_raise(base, slot, field, value, expireat)
  local best, here
  for i, t in ipairs(mk_window(base, slot)) do
    local v = lh_get(t, field)
    if v then
      here = here or i == 2 -- the window is the next slot, the current one, then the ones before
      if not best or mk_level(v) > mk_level(best) then best = v end
    end
  end
  if best and mk_level(best) >= mk_level(value) then return end
  local current = base .. slot
  if here then redis.call('HSET', lh_bucket(current, field), field, value)
  else lh_add(current, field, value, expireat) end
end
