-- KEYS: clip
-- ARGV: field, value
-- Sets one field of a clip record that still exists: a plain HSET on a clip
-- deleted meanwhile would bring back a record with no expiry.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
