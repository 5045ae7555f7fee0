-- ARGV: base, playlist name, JSON {targetDuration, segments}, now, graceMs, vodHoldMs
-- Records the chunks this playlist lists for the first time and commits
-- those whose bytes are already here. Returns the committed results.
local base, pl, now, grace = ARGV[1], ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[5])
local body = cjson.decode(ARGV[3])
local raw = redis.call('HGET', base .. ':playlists', pl)
local state = raw and cjson.decode(raw) or { lastSeq = -1, epoch = 0, discSeq = 0 }
local segments = body.segments
local restart = false
-- A sequence that goes backwards means the encoder restarted.
if raw and #segments > 0 and segments[#segments].seq < state.lastSeq then
  state.epoch = state.epoch + 1
  state.lastSeq = -1
  restart = true
end
local committed = {}
for _, s in ipairs(segments) do
  if s.seq > state.lastSeq then
    local disc = s.discontinuity or restart
    restart = false
    if disc then state.discSeq = state.discSeq + 1 end
    local listing = { pl = pl, seq = s.seq, epoch = state.epoch, dur = s.durationMs, disc = disc,
      discSeq = state.discSeq, pdt = s.programDateTimeMs, at = now }
    redis.call('HSET', base .. ':listed', s.uri, cjson.encode(listing))
    state.lastSeq = s.seq
    local result = commit(base, s.uri, now, grace, tonumber(ARGV[6]))
    if result then committed[#committed + 1] = result end
  end
end
redis.call('HSET', base .. ':playlists', pl, cjson.encode(state))
local tdur = tonumber(redis.call('HGET', base .. ':meta', 'tdur') or '0')
if body.targetDuration > tdur then redis.call('HSET', base .. ':meta', 'tdur', body.targetDuration) end
return committed
