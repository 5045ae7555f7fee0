-- ARGV: base, clipId, now, keepUntil (unix ms; 0 = delete now)
-- Shortens how long a clip keeps its chunks: to keepUntil (a VOD promotion
-- that held them past the clip's expiration is done), or to now (the clip is
-- deleted or expired). Archived chunks it kept alive are then kept only as
-- long as some clip still needs them, or released at once.
local base, clip_id, now, keep_until = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local ckey = base .. ':k:' .. clip_id
local span = redis.call('HGET', base .. ':spans', clip_id)
local s = span and split(span)
if keep_until > now and s then
  redis.call('HSET', base .. ':spans', clip_id, s[1] .. '|' .. s[2] .. '|' .. keep_until)
  redis.call('PEXPIREAT', ckey, keep_until + tonumber(redis.call('HGET', ckey, 'ev_grace') or '0'))
else
  if redis.call('ZSCORE', base .. ':clips', clip_id) then outbox_push(base .. ':outbox', 'clip.expired', clip_id, ckey) end
  redis.call('DEL', ckey)
  redis.call('HDEL', base .. ':spans', clip_id)
  redis.call('ZREM', base .. ':clips', clip_id)
  redis.call('ZREM', base .. ':recording', clip_id)
end
if not s then return 0 end
local ws, we = tonumber(s[1]), tonumber(s[2])
local spans = live_spans(base, now, nil)
-- Every rendition the stream ever had: a clip's own list may still be empty.
for _, pl in ipairs(redis.call('HKEYS', base .. ':rseq')) do
  local archive = base .. ':a:' .. pl
  local members = redis.call('ZRANGEBYSCORE', archive, ws - 600000, '(' .. we, 'WITHSCORES')
  for j = 1, #members, 2 do
    local member, start = members[j], tonumber(members[j + 1])
    local finish = start + tonumber(split(member)[2])
    if finish > ws then
      local until_ms = needed_until(spans, start, finish)
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
