-- KEYS: meta, listed, clips, held, rseq, recording, cws, cwe, recheck, dead, outbox,
--       then a:{pl}, dr:{pl}, i:{pl} per playlist, then the record key of each clip in ARGV[3]
-- ARGV: now, playlists JSON [names], JSON [ids of clips whose expiration has come] (read just before)
-- The cleaner's bookkeeping once sweep_retention.lua has nothing left to do:
-- listings whose chunk never came, expired clips leaving the list (each with
-- its clip.expired event; the caller passes them, so their records are
-- declared keys), and the last keys of a deleted stream. Returns -1 when a
-- deleted stream has nothing left to look after (the caller stops visiting
-- it), else 0.
local now = tonumber(ARGV[1])
local playlists = cjson.decode(ARGV[2])
local outbox = KEYS[11]
-- Listings whose chunk never came are forgotten.
local listed = redis.call('HGETALL', KEYS[2])
for i = 1, #listed, 2 do
  if tonumber(cjson.decode(listed[i + 1]).at or 0) < now - 600000 then redis.call('HDEL', KEYS[2], listed[i]) end
end
local records = 11 + 3 * #playlists
for i, id in ipairs(cjson.decode(ARGV[3] or '[]')) do
  local expiration = tonumber(redis.call('ZSCORE', KEYS[3], id) or '')
  if expiration and expiration <= now then
    outbox_push(outbox, 'clip.expired', id, KEYS[records + i])
    redis.call('ZREM', KEYS[3], id)
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('ZCARD', KEYS[3]) > 0 or redis.call('ZCARD', KEYS[4]) > 0
  or redis.call('ZCARD', KEYS[9]) > 0 or redis.call('SCARD', KEYS[10]) > 0 or redis.call('EXISTS', outbox) == 1 then
  return 0
end
for i, _ in ipairs(playlists) do
  for k = 9 + 3 * i, 11 + 3 * i do
    if redis.call('EXISTS', KEYS[k]) == 1 then return 0 end
  end
end
redis.call('DEL', KEYS[5], KEYS[6], KEYS[3], KEYS[7], KEYS[8])
return -1
