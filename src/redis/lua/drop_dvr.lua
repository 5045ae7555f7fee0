-- KEYS: meta, uploaded, listed, renditions, declared, playlists, pltime, rstat, chunkseq, dead, then i:{pl}, dr:{pl} per playlist
-- ARGV: deleteStream ('1' or '0'), playlists JSON [names]
-- Empties a stream's DVR in O(1) per rendition: its index becomes the drain
-- (dr:{pl}) that sweep_retention.lua retires a batch at a time, keeping in
-- the archive what clips still cover. Uploads no playlist listed go now.
local dead = KEYS[10]
for i, _ in ipairs(cjson.decode(ARGV[2])) do
  local index, drain = KEYS[9 + 2 * i], KEYS[10 + 2 * i]
  if redis.call('EXISTS', index) == 1 then
    if redis.call('EXISTS', drain) == 0 then
      redis.call('RENAME', index, drain)
    else
      -- A drop still being retired: the caller drains first (retention.ts),
      -- so this merge happens only when two drops race.
      redis.call('ZUNIONSTORE', drain, 2, drain, index)
      redis.call('DEL', index)
    end
  end
end
for _, id in ipairs(redis.call('HVALS', KEYS[2])) do redis.call('SADD', dead, id) end
redis.call('DEL', KEYS[2], KEYS[3])
if ARGV[1] == '1' then
  redis.call('DEL', KEYS[1], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9])
  -- rseq stays: it names the renditions whose archives the cleaner sweeps.
else
  redis.call('HDEL', KEYS[1], 'last_chunk_at')
end
return 1
