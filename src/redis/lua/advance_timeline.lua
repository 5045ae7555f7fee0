-- KEYS: the ingest layout (commit.lua) for the renditions in ARGV[1], with
-- the chunk and init keys an earlier call asked for.
-- Commits what may enter on each rendition named: the rest of an ingest
-- call that lacked a key, or the cleaner's pass (chunks held back behind one
-- whose bytes never came enter once it is given up, even when the encoder
-- sends nothing more). Returns ingest_reply.
local C = ingest_context()
local committed = {}
for _, pl in ipairs(C.names) do
  if redis.call('ZCARD', C.pl[pl].w) > 0 then advance_playlist(C, pl, committed) end
end
return ingest_reply(C, committed)
