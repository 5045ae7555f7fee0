-- KEYS: the ingest layout (commit.lua) for the one rendition in ARGV[1],
-- with the keys of the chunks and inits its uris name (as read just before).
-- ARGV[7]: JSON {targetDuration, segments}
-- Records the chunks this playlist lists for the first time (commit.lua) and
-- commits those that may enter the index now. Returns ingest_reply.
local C = ingest_context()
local pl, now = C.names[1], C.now
local body = cjson.decode(ARGV[7])
local segments = body.segments
local st = load_state(C, pl)
local restart = false
local fresh = {}
local newest = #segments > 0 and segments[#segments].seq
if st.known and newest and newest <= st.lastSeq then
  -- Nothing past what was listed: an encoder restart if this lists new
  -- chunks (commit.lua); else a retry or a late duplicate, which changes
  -- nothing. Where the sequence did not go back, new chunks must be the
  -- most of it (a retried playlist and a retried upload are not a restart).
  if brings_new_chunks(C, pl, segments, newest == st.lastSeq) then
    st.epoch, st.lastSeq, restart = st.epoch + 1, -1, true
    forget_epoch(C, pl)
  else
    segments = {}
  end
end
for _, s in ipairs(segments) do
  if s.seq > st.lastSeq then fresh[#fresh + 1] = s end
end
-- A late playlist of the run before a restart lists nothing new either.
if not restart and st.epoch > 0 and from_before_restart(C, pl, fresh) then fresh = {} end
-- Only the newest listings count: an encoder uploads a chunk once, right
-- after recording it, so older ones would never get their bytes.
local first = math.max(1, #fresh - WAITING_MAX + 1)
local remaining, longest = 0, 0
for i = first, #fresh do
  remaining = remaining + fresh[i].durationMs
  longest = math.max(longest, fresh[i].durationMs)
end
-- Numbers that jump ahead past every chunk this epoch has seen (ffmpeg
-- restarted with -hls_start_number_source epoch_us, or many playlists were
-- lost) leave a break, marked as one in every rendition alike.
local jumped = not restart and st.known and #fresh > 0 and fresh[first].seq > st.lastSeq + 1
  and not lists_seen(C, pl, segments)
for i = first, #fresh do
  local s = fresh[i]
  -- The playlist's last chunk has just ended: each one started as long
  -- before now as it and the chunks after it last.
  local arrival = now - remaining
  remaining = remaining - s.durationMs
  local disc = s.discontinuity or ((restart or jumped) and i == first)
  if not st.known and i == first then
    -- A rendition's first chunk counts the discontinuities before it as the
    -- rendition that listed it first did.
    local shared = slot_disc_seq(C, st.epoch, s.seq)
    if shared then st.discSeq = shared - (disc and 1 or 0) end
  end
  if disc then st.discSeq = st.discSeq + 1 end
  list_chunk(C, pl, st, s, arrival, disc)
end
if #fresh > 0 then bound_listings(C, pl) end
local committed = {}
advance(C, pl, st, committed)
save_state(C, pl, st)
-- The encoder's EXT-X-TARGETDURATION counts only as far as the chunks it
-- lists bear it out (never past the longest, rounded up).
if longest > 0 then
  local declared = math.min(tonumber(body.targetDuration) or 0, math.ceil(longest / 1000))
  if declared > tonumber(redis.call('HGET', C.meta, 'tdur') or '0') then
    redis.call('HSET', C.meta, 'tdur', declared)
  end
end
return ingest_reply(C, committed)
