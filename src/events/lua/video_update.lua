-- KEYS[1]: a video record, KEYS[2]: its outbox; ARGV: event type, field, value, ...
-- Sets fields of a record that still exists (as vod/records.ts updateVideo)
-- and, when its status becomes a new one, records the event with it.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local was = redis.call('HGET', KEYS[1], 'status')
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if redis.call('HGET', KEYS[1], 'status') ~= was then
  outbox_push(KEYS[2], ARGV[1], redis.call('HGET', KEYS[1], 'id'), KEYS[1])
end
return 1
