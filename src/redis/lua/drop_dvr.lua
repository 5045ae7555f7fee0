-- ARGV: base, now, JSON [playlist names], deleteStream ('1' or '0')
-- Empties a stream's DVR. Chunks that clips still pin stay until those
-- clips expire; everything else goes now.
local base, now = ARGV[1], tonumber(ARGV[2])
local playlists = cjson.decode(ARGV[3])
for _, pl in ipairs(playlists) do
  local index = base .. ':i:' .. pl
  for _, member in ipairs(redis.call('ZRANGE', index, 0, -1)) do retire(base, member, now) end
  redis.call('DEL', index)
end
for _, id in ipairs(redis.call('HVALS', base .. ':uploaded')) do redis.call('DEL', chunk_key(base, id)) end
redis.call('DEL', base .. ':uploaded', base .. ':listed', base .. ':rstat')
if ARGV[4] == '1' then
  redis.call('DEL', base .. ':meta', base .. ':renditions', base .. ':declared', base .. ':playlists', base .. ':pltime', base .. ':rseq', base .. ':chunkseq')
else
  redis.call('HDEL', base .. ':meta', 'last_chunk_at')
end
return 1
