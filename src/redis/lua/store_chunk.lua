-- KEYS: the ingest layout (commit.lua), with the rendition whose playlist
-- listed `uri` (if any, as read just before) and this chunk's key.
-- ARGV[7..10]: uri, chunkId, bytes, kind ('ts' or 'fmp4')
-- Returns ingest_reply: the chunks these bytes let into the index, and what
-- the caller must pass to commit the rest.
local C = ingest_context()
local uri, id = ARGV[7], ARGV[8]
local ckey = C.chunks[id]
redis.call('HSET', ckey, 'b', ARGV[9])
-- An fMP4 chunk enters the index only with its init segment (commit.lua).
if ARGV[10] == 'fmp4' then redis.call('HSET', ckey, 'f', 'fmp4') end
-- Bytes no playlist ever lists are dropped after the grace period.
redis.call('PEXPIRE', ckey, C.grace)
-- The same uri uploaded again (a retry): the earlier bytes, never indexed, go.
local replaced = redis.call('HGET', C.uploaded, uri)
if replaced and replaced ~= id then redis.call('SADD', C.retention.dead, replaced) end
redis.call('HSET', C.uploaded, uri, id)
return ingest_reply(C, commit_upload(C, uri))
