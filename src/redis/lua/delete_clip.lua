-- ARGV: base, clipId, now, JSON [playlist names]
-- Expires a clip now. Archived chunks it kept alive are kept only as long as
-- another clip needs them, or released at once.
local base, clip_id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ckey = base .. ':k:' .. clip_id
local span = redis.call('HGET', base .. ':spans', clip_id)
redis.call('DEL', ckey)
redis.call('HDEL', base .. ':spans', clip_id)
redis.call('ZREM', base .. ':clips', clip_id)
redis.call('ZREM', base .. ':recording', clip_id)
if not span then return 0 end
local s = split(span)
local ws, we = tonumber(s[1]), tonumber(s[2])
local others = live_spans(base, now, clip_id)
for _, pl in ipairs(cjson.decode(ARGV[4])) do
  local archive = base .. ':a:' .. pl
  local for_each = redis.call('ZRANGEBYSCORE', archive, ws - 600000, '(' .. we, 'WITHSCORES')
  for j = 1, #for_each, 2 do
    local member, start = for_each[j], tonumber(for_each[j + 1])
    local finish = start + tonumber(split(member)[2])
    if finish > ws then
      local until_ms = needed_until(others, start, finish)
      if until_ms > now then
        redis.call('ZADD', base .. ':ax:' .. pl, until_ms, member)
        redis.call('PEXPIREAT', chunk_key(base, split(member)[1]), until_ms)
      else
        redis.call('ZREM', archive, member)
        redis.call('ZREM', base .. ':ax:' .. pl, member)
        redis.call('DEL', chunk_key(base, split(member)[1]))
      end
    end
  end
end
return 1
