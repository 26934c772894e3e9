--[[
  Reads a delivery index (lib/delivery-index.lua): up to n entries scored within [min, max],
  newest first (score, then id, descending), from its chunks and, merged in, from the sorted set
  an older version wrote (until it expires).

  KEYS[1] idx   the index (the base of its chunk keys, and the older layout's sorted set)
  ARGV[1] max score (epoch ms, inclusive; '' = none)
  ARGV[2] min score (epoch ms, inclusive; '' = none)
  ARGV[3] n

  Returns id, score, id, score, …
]]
-- @include delivery-index
local max = ARGV[1] ~= '' and tonumber(ARGV[1]) or nil
local min = ARGV[2] ~= '' and tonumber(ARGV[2]) or nil
return ix_range(KEYS[1], max, min, tonumber(ARGV[3]))
