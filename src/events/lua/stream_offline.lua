-- KEYS[1]: the stream's meta, KEYS[2]: its outbox; ARGV: now (ms)
-- A live stream silent for three target durations goes offline (SPEC 3:
-- `live`), once: live_ev says what was last announced (lib.lua).
local m = redis.call('HMGET', KEYS[1], 'id', 'live_ev', 'last_chunk_at', 'tdur')
if not m[1] or m[2] ~= '1' then return 0 end
local silent_ms = 3 * math.max(tonumber(m[4] or '0') or 0, 1) * 1000
if tonumber(ARGV[1]) - tonumber(m[3] or '0') <= silent_ms then return 0 end
redis.call('HSET', KEYS[1], 'live_ev', '0')
outbox_push(KEYS[2], 'stream.offline', m[1], KEYS[1])
return 1
