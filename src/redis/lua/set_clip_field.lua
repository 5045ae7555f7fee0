-- ARGV: base, clipId, field, value
-- Sets one field of a clip record that still exists: a plain HSET on a clip
-- deleted meanwhile would bring back a record with no expiry.
local key = ARGV[1] .. ':k:' .. ARGV[2]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, ARGV[3], ARGV[4])
return 1
