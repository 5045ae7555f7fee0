-- KEYS: clip, clips, recording, cws, cwe, held, recheck, outbox, then a:{pl} per playlist
-- ARGV: clipId, now, keepUntil (unix ms), mode ('delete' | 'hold'), playlists JSON
-- 'hold': a VOD promotion that held the clip past its expiration is over;
-- the clip keeps its chunks until keepUntil (its expiration) only.
-- 'delete': the user deleted it. A clip whose VOD promotion is still to
-- come is only hidden (its links answer 404, it leaves the list) and keeps
-- its span until the promotion lets go; any other clip goes now.
-- A clip that goes leaves the span sets at once, and each archived range it
-- covered is queued in `recheck` for sweep_retention.lua: the release costs
-- O(log n) whatever the clip's length or the number of clips.
-- Returns 'kept', 'hidden', 'released' or 'gone'.
local ckey, clips, recording, cws, cwe, held_key, recheck, outbox = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local clip_id, now, keep_until, mode = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local playlists = cjson.decode(ARGV[5])
local held = tonumber(redis.call('ZSCORE', held_key, clip_id) or '0')
local info = redis.call('HMGET', ckey, 'expires_ms', 'vod_required', 'deleted')
local expires = tonumber(info[1] or '0')

if mode == 'delete' and info[2] == '1' and held > expires and held > now then
  redis.call('HSET', ckey, 'deleted', '1')
  if redis.call('ZSCORE', clips, clip_id) then outbox_push(outbox, 'clip.expired', clip_id, ckey) end
  redis.call('ZREM', clips, clip_id)
  return 'hidden'
end
if mode == 'hold' and info[3] ~= '1' and keep_until > now and held > 0 then
  redis.call('ZADD', held_key, keep_until, clip_id)
  redis.call('PEXPIREAT', ckey, keep_until + tonumber(redis.call('HGET', ckey, 'ev_grace') or '0'))
  return 'kept'
end

if redis.call('ZSCORE', clips, clip_id) then outbox_push(outbox, 'clip.expired', clip_id, ckey) end
redis.call('DEL', ckey)
redis.call('ZREM', clips, clip_id)
redis.call('ZREM', recording, clip_id)
local ws, we = redis.call('ZSCORE', cws, clip_id), redis.call('ZSCORE', cwe, clip_id)
redis.call('ZREM', cws, clip_id)
redis.call('ZREM', cwe, clip_id)
redis.call('ZREM', held_key, clip_id)
if not ws or not we then return 'gone' end
for i, pl in ipairs(playlists) do queue_recheck(recheck, KEYS[8 + i], pl, tonumber(ws), tonumber(we), clip_id, now) end
return 'released'
