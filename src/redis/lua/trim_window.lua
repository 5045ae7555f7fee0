-- ARGV: base, now, JSON [playlist names]
-- The cleaner's pass over one stream: retire chunks that left the window,
-- forget archived chunks and clips that expired.
local base, now = ARGV[1], tonumber(ARGV[2])
local window = window_ms(base)
local removed = 0
for _, pl in ipairs(cjson.decode(ARGV[3])) do
  removed = removed + trim_index(base, pl, now, window)
  removed = removed + sweep_archive(base, pl, now)
end
-- Listings whose chunk never came, and uploads no playlist ever listed
-- (their bytes expired after the grace period), are forgotten.
local listed = redis.call('HGETALL', base .. ':listed')
for i = 1, #listed, 2 do
  if tonumber(cjson.decode(listed[i + 1]).at or 0) < now - 600000 then redis.call('HDEL', base .. ':listed', listed[i]) end
end
local uploaded = redis.call('HGETALL', base .. ':uploaded')
for i = 1, #uploaded, 2 do
  if redis.call('EXISTS', chunk_key(base, uploaded[i + 1])) == 0 then redis.call('HDEL', base .. ':uploaded', uploaded[i]) end
end
-- A recording clip leaves that list when its record is gone (not at its
-- expiration: a VOD promotion may hold it and still need it finalized).
for _, clip_id in ipairs(redis.call('ZRANGEBYSCORE', base .. ':recording', '-inf', now)) do
  if redis.call('EXISTS', base .. ':k:' .. clip_id) == 0 then redis.call('ZREM', base .. ':recording', clip_id) end
end
expire_clips(base, now)
-- A span outlives its clip's expiration while a VOD promotion holds it.
local spans = redis.call('HGETALL', base .. ':spans')
for i = 1, #spans, 2 do
  if tonumber(split(spans[i + 1])[3]) <= now then redis.call('HDEL', base .. ':spans', spans[i]) end
end
-- A deleted stream is visited until its last clip is gone; then its
-- remaining bookkeeping goes and the caller stops visiting it (-1).
if redis.call('EXISTS', base .. ':meta') == 0 and redis.call('ZCARD', base .. ':clips') == 0
  and redis.call('HLEN', base .. ':spans') == 0 and redis.call('EXISTS', base .. ':outbox') == 0 then
  redis.call('DEL', base .. ':rseq', base .. ':spans', base .. ':recording', base .. ':clips')
  return -1
end
return removed
