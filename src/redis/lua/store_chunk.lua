-- KEYS[1]: the stream's meta key, for cluster routing only (keys derive from ARGV[1])
-- ARGV: base, uri, chunkId, bytes, now, graceMs, vodHoldMs, kind ('ts' or 'fmp4')
-- Returns the results of the chunks these bytes let into the index (commit.lua).
local base, uri, id, now, grace = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[6])
local ckey = chunk_key(base, id)
redis.call('HSET', ckey, 'b', ARGV[4])
-- An fMP4 chunk enters the index only with its init segment (commit.lua).
if ARGV[8] == 'fmp4' then redis.call('HSET', ckey, 'f', 'fmp4') end
-- Bytes no playlist ever lists are dropped after the grace period.
redis.call('PEXPIRE', ckey, grace)
local replaced = redis.call('HGET', base .. ':uploaded', uri)
if replaced and replaced ~= id then redis.call('DEL', chunk_key(base, replaced)) end
redis.call('HSET', base .. ':uploaded', uri, id)
return commit_upload(base, uri, now, grace, tonumber(ARGV[7]))
