-- ARGV: base, now, JSON [playlist names]
-- The cleaner's pass over one stream: retire chunks that left the window
-- and forget clips that expired.
local base, now = ARGV[1], tonumber(ARGV[2])
local window = window_ms(base)
local removed = 0
for _, pl in ipairs(cjson.decode(ARGV[3])) do
  removed = removed + trim_index(base, base .. ':i:' .. pl, now, window)
end
redis.call('ZREMRANGEBYSCORE', base .. ':clips', '-inf', now)
for _, clip_id in ipairs(redis.call('ZRANGE', base .. ':recording', 0, -1)) do
  if redis.call('EXISTS', base .. ':k:' .. clip_id) == 0 then redis.call('ZREM', base .. ':recording', clip_id) end
end
return removed
