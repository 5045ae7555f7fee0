-- ARGV: base, clipId, status ('ready' or 'failed'), tdur
-- Closes a recording clip: from here on no chunk is added to it.
local base, clip_id = ARGV[1], ARGV[2]
local ckey = base .. ':k:' .. clip_id
redis.call('ZREM', base .. ':recording', clip_id)
if redis.call('EXISTS', ckey) == 0 then return 0 end
redis.call('HSET', ckey, 'status', ARGV[3], 'tdur', ARGV[4])
return 1
