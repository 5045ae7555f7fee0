-- KEYS: uploaded, the chunk's key
-- ARGV: uri, chunkId
-- An upload no playlist ever listed: once its bytes have expired (the grace
-- period), the uri is forgotten, unless it was uploaded again meanwhile.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
