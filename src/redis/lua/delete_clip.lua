-- ARGV: base, clipId, now, JSON [playlist names]
-- Expires a clip now. Each chunk it pinned gets its pin recomputed from the
-- clips that remain (a clip holds exactly the chunks inside its time span),
-- then is kept for the window or those clips, or released.
local base, clip_id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ckey = base .. ':k:' .. clip_id
if redis.call('EXISTS', ckey) == 0 then return 0 end
redis.call('DEL', ckey)
redis.call('ZREM', base .. ':clips', clip_id)
redis.call('ZREM', base .. ':recording', clip_id)
local others = {}
for _, other in ipairs(redis.call('ZRANGEBYSCORE', base .. ':clips', '(' .. now, '+inf', 'WITHSCORES')) do
  others[#others + 1] = other
end
local window = window_ms(base)
for _, pl in ipairs(cjson.decode(ARGV[4])) do
  local list = ckey .. ':' .. pl
  for _, member in ipairs(redis.call('ZRANGE', list, 0, -1)) do
    local id = split(member)[1]
    local key = chunk_key(base, id)
    local keep = 0
    for i = 1, #others, 2 do
      if redis.call('ZSCORE', base .. ':k:' .. others[i] .. ':' .. pl, member) then
        keep = math.max(keep, tonumber(others[i + 1]))
      end
    end
    local ttl = keep
    local in_window = redis.call('ZSCORE', base .. ':i:' .. pl, member)
    if in_window then
      ttl = math.max(ttl, tonumber(in_window) + tonumber(split(member)[2]) + window + 120000)
    end
    if ttl > now then
      redis.call('HSET', key, 'p', keep)
      redis.call('PEXPIREAT', key, ttl)
    else
      redis.call('DEL', key)
    end
  end
  redis.call('DEL', list)
end
return 1
