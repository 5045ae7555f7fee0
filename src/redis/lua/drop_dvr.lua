-- ARGV: base, now, JSON [playlist names], deleteStream ('1' or '0')
-- Empties a stream's DVR. Chunks that clips still need move to the archive
-- and stay until those clips expire; everything else goes now.
local base, now = ARGV[1], tonumber(ARGV[2])
local spans = live_spans(base, now, nil)
for _, pl in ipairs(cjson.decode(ARGV[3])) do
  local index = base .. ':i:' .. pl
  local members = redis.call('ZRANGE', index, 0, -1, 'WITHSCORES')
  for j = 1, #members, 2 do retire(base, pl, members[j], tonumber(members[j + 1]), spans) end
  redis.call('DEL', index)
end
for _, id in ipairs(redis.call('HVALS', base .. ':uploaded')) do redis.call('DEL', chunk_key(base, id)) end
redis.call('DEL', base .. ':uploaded', base .. ':listed')
if ARGV[4] == '1' then
  redis.call('DEL', base .. ':meta', base .. ':renditions', base .. ':declared', base .. ':playlists', base .. ':pltime',
    base .. ':rstat', base .. ':chunkseq')
  -- rseq stays: it names the renditions whose archives the cleaner sweeps.
else
  redis.call('HDEL', base .. ':meta', 'last_chunk_at')
end
return 1
