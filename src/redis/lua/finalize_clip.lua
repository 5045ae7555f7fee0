-- KEYS: clip, recording, outbox
-- ARGV: clipId, status ('ready' or 'failed'), bounds JSON {field: start ms}
-- Closes a recording clip: its first and last chunk per rendition become
-- fixed (cs:{pl}, ce:{pl}), so no later chunk ever joins it.
local ckey, recording = KEYS[1], KEYS[2]
redis.call('ZREM', recording, ARGV[1])
if redis.call('EXISTS', ckey) == 0 then return 0 end
local was = redis.call('HGET', ckey, 'status')
for field, value in pairs(cjson.decode(ARGV[3])) do redis.call('HSET', ckey, field, value) end
redis.call('HSET', ckey, 'status', ARGV[2])
if was == 'recording' then outbox_push(KEYS[3], 'clip.' .. ARGV[2], ARGV[1], ckey) end
return 1
