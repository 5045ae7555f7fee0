-- ARGV: base, clipId, status ('ready' or 'failed'), bounds JSON {field: start ms}
-- Closes a recording clip: its first and last chunk per rendition become
-- fixed (cs:{pl}, ce:{pl}), so no later chunk ever joins it.
local base, clip_id = ARGV[1], ARGV[2]
local ckey = base .. ':k:' .. clip_id
redis.call('ZREM', base .. ':recording', clip_id)
if redis.call('EXISTS', ckey) == 0 then return 0 end
local was = redis.call('HGET', ckey, 'status')
for field, value in pairs(cjson.decode(ARGV[4])) do redis.call('HSET', ckey, field, value) end
local tdur = tonumber(redis.call('HGET', base .. ':meta', 'tdur') or '0')
local own = tonumber(redis.call('HGET', ckey, 'tdur') or '1')
redis.call('HSET', ckey, 'status', ARGV[3], 'tdur', math.max(tdur, own, 1))
if was == 'recording' then outbox_push(base .. ':outbox', 'clip.' .. ARGV[3], clip_id, ckey) end
return 1
