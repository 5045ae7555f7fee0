-- The ingest timeline, shared by ingest_playlist.lua, store_chunk.lua and
-- advance_timeline.lua.
--
-- A chunk's place comes from the playlist that lists it, never from when its
-- upload finishes: each newly listed chunk gets, per rendition, a listing
-- number `o` (the order of (epoch, media sequence)) and a start time (right
-- after the chunk listed before it, or shared with the other renditions'
-- chunk of the same (epoch, sequence)). A chunk enters the window index once
-- both its bytes and its listing are here AND every chunk listed before it on
-- its rendition has entered (or been given up): so the index, its running
-- number n and every start time follow (epoch, sequence), whatever order
-- uploads finish in.
--
-- KEYS, the same layout for every ingest script (src/redis/script-keys.ts
-- ingestKeys); no key is built here:
--   1 meta  2 playlists  3 listed  4 uploaded  5 inits  6 rseq  7 rstat
--   8 cws  9 cwe  10 dead  11 outbox  12 slots  13 slott
--   then for each rendition named in ARGV[1]: w, seen, seenp, i, a
--   then the key of each chunk id in ARGV[2], then of each init id in ARGV[3]
-- ARGV[4..6]: now, graceMs, vodHoldMs; a script's own arguments follow.
--   playlists    hash pl -> timeline state JSON (load_state below)
--   listed       hash uri -> listing JSON of a chunk listed, not yet in the index
--   uploaded     hash uri -> chunk id of bytes no listing has claimed yet
--   w            zset uri by o: pl's listings not yet in the index (bounded)
--   seen         zset uri by media sequence: pl's recent chunks of the current
--                epoch, to tell a playlist sent again from an encoder restart
--   seenp        the same for the epoch before
--   slots        hash "epoch:seq" -> "start|discSeq", shared by the renditions
--   slott        zset "epoch:seq" -> when set, to forget slots after 10 min
-- A chunk or init key the caller did not pass stops its rendition's commit
-- right there (nothing is half done: the chunk simply waits) and is named
-- in the reply (ingest_reply); the caller calls advance_timeline.lua again
-- with it. Which chunks will enter is only known inside the script, since
-- each upload and listing moves the timeline, so the caller cannot always
-- name them all beforehand.
-- Numbers that can be large (sequences) are stored as exact text (int()).

-- Listings one rendition may have waiting for their bytes: bounds `listed`
-- however many chunks a pushed playlist lists (the oldest are forgotten).
local WAITING_MAX = 256
-- Chunks of the current epoch remembered per rendition.
local SEEN_MAX = 256
-- Helper sets outlive a deleted stream by at most this.
local HELPER_TTL = 3600000
-- A slot is what the renditions share about one (epoch, sequence): long
-- enough to line them up, since they list the same chunk within seconds.
local SLOT_MS = 600000

-- The keys this call was given, by role (the layout above).
local function ingest_context()
  local playlists = cjson.decode(ARGV[1])
  local C = {
    meta = KEYS[1], playlists = KEYS[2], listed = KEYS[3], uploaded = KEYS[4], inits = KEYS[5],
    rseq = KEYS[6], rstat = KEYS[7], outbox = KEYS[11], slots = KEYS[12], slott = KEYS[13],
    retention = { cws = KEYS[8], cwe = KEYS[9], dead = KEYS[10] },
    names = playlists, pl = {}, chunks = {}, init_keys = {}, wanted = {},
    now = tonumber(ARGV[4]), grace = tonumber(ARGV[5]), hold = tonumber(ARGV[6]),
  }
  local at = 14
  for _, pl in ipairs(playlists) do
    C.pl[pl] = { w = KEYS[at], seen = KEYS[at + 1], seenp = KEYS[at + 2], i = KEYS[at + 3], a = KEYS[at + 4] }
    at = at + 5
  end
  for _, id in ipairs(cjson.decode(ARGV[2])) do C.chunks[id] = KEYS[at]; at = at + 1 end
  for _, id in ipairs(cjson.decode(ARGV[3])) do C.init_keys[id] = KEYS[at]; at = at + 1 end
  return C
end

-- Notes a key this call lacks: `kind` 'chunk' or 'init' with its id, or
-- nil when the rendition's own keys were not passed at all.
local function want(C, pl, kind, id)
  local w = C.wanted[pl]
  if not w then
    w = { pl = pl, chunks = {}, inits = {} }
    C.wanted[pl] = w
  end
  if kind == 'chunk' then w.chunks[#w.chunks + 1] = id elseif kind == 'init' then w.inits[#w.inits + 1] = id end
end

-- The reply of every ingest script: the committed results, and what the
-- caller must pass to advance_timeline.lua for the rest (a JSON list).
local function ingest_reply(C, committed)
  local wanted = {}
  for _, w in pairs(C.wanted) do wanted[#wanted + 1] = cjson.encode(w) end
  return { committed, wanted }
end

local function load_state(C, pl)
  local raw = redis.call('HGET', C.playlists, pl)
  local s = raw and cjson.decode(raw)
  if not s then
    -- A rendition that starts after others joins their epoch and their
    -- count of discontinuities, so it lines up with them.
    local stream = redis.call('HMGET', C.meta, 'epoch', 'disc_seq')
    s = { epoch = stream[1] or 0, discSeq = stream[2] or 0 }
  end
  return {
    known = raw and true or false,
    epoch = tonumber(s.epoch or 0), lastSeq = tonumber(s.lastSeq or -1), discSeq = tonumber(s.discSeq or 0),
    -- o: listings so far; next: the o of the next chunk to enter the index.
    o = tonumber(s.o or 0), next = tonumber(s.next or 1),
    -- start/finish: of the chunk listed last (unix ms).
    start = tonumber(s.start or ''), finish = tonumber(s.finish or ''),
    -- Since when a listed chunk is ready while one listed before it is not (0: none is).
    blocked = tonumber(s.blocked or 0),
  }
end

local function save_state(C, pl, st)
  local stream = redis.call('HMGET', C.meta, 'epoch', 'disc_seq')
  if st.epoch > tonumber(stream[1] or '0') then redis.call('HSET', C.meta, 'epoch', int(st.epoch)) end
  if st.discSeq > tonumber(stream[2] or '0') then redis.call('HSET', C.meta, 'disc_seq', int(st.discSeq)) end
  redis.call('HSET', C.playlists, pl, cjson.encode({
    epoch = int(st.epoch), lastSeq = int(st.lastSeq), discSeq = int(st.discSeq), o = int(st.o), next = int(st.next),
    start = st.start and int(st.start), finish = st.finish and int(st.finish), blocked = int(st.blocked),
  }))
end

-- The init segment a listing names (EXT-X-MAP): its id if its bytes are
-- here, nil if not (yet); and true as the second value if its key was not
-- passed (want() has noted it).
local function listed_init(C, pl, l)
  local init = redis.call('HGET', C.inits, l.map)
  if not init then return nil, false end
  local key = C.init_keys[init]
  if not key then
    want(C, pl, 'init', init)
    return nil, true
  end
  if redis.call('EXISTS', key) == 1 then return init, false end
  return nil, false
end

-- An fMP4 init segment lives at least as long as every chunk committed with
-- it (`expires`: the chunk's backstop); the uri map as long as chunks bind.
local function keep_init(C, init, expires)
  local ikey = C.init_keys[init]
  local left = redis.call('PTTL', ikey)
  if left >= 0 and redis.call('TIME')[1] * 1000 + left < expires then redis.call('PEXPIREAT', ikey, int(expires)) end
  redis.call('PEXPIRE', C.inits, HELPER_TTL)
end

-- Puts one chunk into its rendition's window index. nil if its bytes expired;
-- {pl, '!' .. uri} if it is an fMP4 chunk its playlist names no init for
-- (it would not play: it is dropped).
local function enter_index(C, pl, l, id, init, uri)
  local ckey, now = C.chunks[id], C.now
  if redis.call('EXISTS', ckey) == 0 then return nil end
  local start, dur = tonumber(l.start), tonumber(l.dur)
  if not init and redis.call('HGET', ckey, 'f') == 'fmp4' then
    redis.call('DEL', ckey)
    return { pl, '!' .. uri, int(start) }
  end
  local size = redis.call('HSTRLEN', ckey, 'b')
  local n = redis.call('HINCRBY', C.rseq, pl, 1)
  local member = chunk_member(id, dur, size, tonumber(l.discSeq), l.disc, n, init)
  redis.call('ZADD', C.pl[pl].i, int(start), member)
  -- Its rendition and start: a clip's chunk URL serves it only inside that clip's span (src/clips/chunk-grant.ts).
  redis.call('HSET', ckey, 'p', pl, 's', int(start))
  local window = window_of(C.meta)
  -- The window retires the chunk explicitly (trim_keys below); this TTL is
  -- only the backstop. It outlasts the window by the longest clip
  -- expiration (4 h) and a VOD promotion's hold, so neither a window raised
  -- later (dvr_duration spans at most 4 h) nor a cleaner running late can
  -- drop a chunk a clip still needs.
  local backstop = int(math.max(start + dur, now) + window + 4 * 3600000 + C.hold + C.grace)
  redis.call('PEXPIREAT', ckey, backstop)
  if init then keep_init(C, init, tonumber(backstop)) end
  note_chunk_for_events(C.meta, C.outbox, now)
  redis.call('HSET', C.meta, 'last_chunk_at', int(now))
  -- The largest chunk so far bounds every clip's EXT-X-TARGETDURATION.
  local rounded = math.floor(dur / 1000 + 0.5)
  if rounded > tonumber(redis.call('HGET', C.meta, 'tdur') or '0') then
    redis.call('HSET', C.meta, 'tdur', rounded)
  end
  redis.call('HINCRBY', C.rstat, pl .. ':bytes', size)
  redis.call('HINCRBY', C.rstat, pl .. ':ms', int(dur))
  -- A few chunks per committed chunk keeps up with any window; the cleaner does the rest.
  trim_keys(C.retention, C.pl[pl].i, C.pl[pl].a, now, window, 16)
  return { pl, member, int(start) }
end

-- Whether some listing after the head of `w` has its bytes here.
local function ready_after(C, w)
  for _, uri in ipairs(redis.call('ZRANGE', w, 1, -1)) do
    if redis.call('HEXISTS', C.uploaded, uri) == 1 then return true end
  end
  return false
end

-- Moves into the index every chunk of `pl` that may enter now, in listing
-- order; appends their results to `out`. A chunk whose bytes are late holds
-- back the chunks listed after it for a few of its durations, then is given
-- up (its bytes, if they ever come, are no longer claimed).
local function advance(C, pl, st, out)
  local w, now = C.pl[pl].w, C.now
  for _ = 0, redis.call('ZCARD', w) do
    local head = redis.call('ZRANGE', w, 0, 0, 'WITHSCORES')
    if #head == 0 then st.blocked = 0; return end
    local uri, o = head[1], tonumber(head[2])
    local raw = redis.call('HGET', C.listed, uri)
    local l = raw and cjson.decode(raw)
    if not l or l.pl ~= pl or tonumber(l.o) ~= o or o < st.next then
      -- Forgotten (aged out, the DVR was emptied), listed again since, or given up.
      redis.call('ZREM', w, uri)
    else
      local id = redis.call('HGET', C.uploaded, uri)
      local init, lacking = nil, false
      if id and not C.chunks[id] then
        want(C, pl, 'chunk', id)
        lacking = true
      elseif id and l.map then
        -- A chunk whose playlist names an init segment waits for it too.
        init, lacking = listed_init(C, pl, l)
      end
      if lacking then return end
      if id and (not l.map or init) then
        redis.call('ZREM', w, uri)
        redis.call('HDEL', C.listed, uri)
        redis.call('HDEL', C.uploaded, uri)
        st.next, st.blocked = o + 1, 0
        local result = enter_index(C, pl, l, id, init, uri)
        if result then out[#out + 1] = result end
      elseif not ready_after(C, w) then
        st.blocked = 0
        return
      elseif st.blocked == 0 then
        st.blocked = now
        return
      elseif now - st.blocked < math.min(math.max(3 * tonumber(l.dur), 6000), 60000) then
        return
      else
        redis.call('ZREM', w, uri)
        redis.call('HDEL', C.listed, uri)
        st.next = o + 1
      end
    end
  end
end

-- Commits what can enter on rendition `pl`, appending to `out`.
local function advance_playlist(C, pl, out)
  local st = load_state(C, pl)
  advance(C, pl, st, out)
  save_state(C, pl, st)
end

-- Bytes of `uri` arrived: commits what they complete. A list of results.
local function commit_upload(C, uri)
  local raw = redis.call('HGET', C.listed, uri)
  if not raw then return {} end
  local pl = cjson.decode(raw).pl
  -- Listed on a rendition the caller did not expect (listed meanwhile): it calls again.
  if not C.pl[pl] then
    want(C, pl)
    return {}
  end
  local out = {}
  advance_playlist(C, pl, out)
  return out
end

local function slot_field(epoch, seq) return int(epoch) .. ':' .. int(seq) end

-- The discontinuity sequence another rendition gave (epoch, seq), if any.
local function slot_disc_seq(C, epoch, seq)
  local v = redis.call('HGET', C.slots, slot_field(epoch, seq))
  return v and tonumber(string.match(v, '|(%d+)$'))
end

-- Slots older than SLOT_MS are forgotten, a bounded batch per call.
local function forget_old_slots(C)
  local old = redis.call('ZRANGEBYSCORE', C.slott, '-inf', '(' .. int(C.now - SLOT_MS), 'LIMIT', 0, 64)
  if #old > 0 then
    redis.call('HDEL', C.slots, unpack(old))
    redis.call('ZREM', C.slott, unpack(old))
  end
  redis.call('PEXPIRE', C.slots, HELPER_TTL)
  redis.call('PEXPIRE', C.slott, HELPER_TTL)
end

-- The start (unix ms) of a newly listed chunk `s` of the rendition in state
-- `st`. `arrival` is when it started if the playlist's last chunk ended now.
-- Never at or before the start of the chunk listed before it: the index is
-- ordered by start, so the timeline cannot be permuted.
local function place(C, st, s, arrival, disc)
  local now = C.now
  local pdt = tonumber(s.programDateTimeMs)
  -- An encoder clock far off the wall clock would empty the DVR or stall
  -- clips: such a program date time is ignored.
  if pdt and (pdt > now + 10000 or pdt < now - s.durationMs - 60000) then pdt = nil end
  local field = slot_field(st.epoch, s.seq)
  -- The encoder's clock, else the start another rendition gave the same
  -- (epoch, sequence), else right after the chunk listed before it.
  local start = pdt or tonumber(string.match(redis.call('HGET', C.slots, field) or '', '^[^|]+') or '')
  if start then
    if st.start and start <= st.start then start = st.finish end
  elseif not st.finish then
    start = arrival
  elseif disc or s.seq ~= st.lastSeq + 1 or st.finish < arrival - 30000 then
    -- A restart, chunks never listed in between, or a timeline that fell
    -- behind the wall clock: from arrival (never back over what is placed).
    start = math.max(arrival, st.finish)
  else
    start = st.finish
  end
  if redis.call('HSETNX', C.slots, field, int(start) .. '|' .. int(st.discSeq)) == 1 then
    redis.call('ZADD', C.slott, int(now), field)
  end
  return start
end

-- Records a newly listed chunk: its listing number, place and listing.
local function list_chunk(C, pl, st, s, arrival, disc)
  local start = place(C, st, s, arrival, disc)
  st.o = st.o + 1
  redis.call('HSET', C.listed, s.uri, cjson.encode({
    pl = pl, o = int(st.o), seq = int(s.seq), epoch = int(st.epoch), dur = int(s.durationMs), disc = disc,
    discSeq = int(st.discSeq), start = int(start), at = int(C.now), map = s.map,
  }))
  redis.call('ZADD', C.pl[pl].w, st.o, s.uri)
  redis.call('ZADD', C.pl[pl].seen, int(s.seq), s.uri)
  st.lastSeq, st.start, st.finish = s.seq, start, start + s.durationMs
end

-- Keeps the waiting listings, the remembered chunks of `pl` and the slots bounded.
local function bound_listings(C, pl)
  local w, seen = C.pl[pl].w, C.pl[pl].seen
  local extra = redis.call('ZCARD', w) - WAITING_MAX
  if extra > 0 then
    for _, uri in ipairs(redis.call('ZRANGE', w, 0, extra - 1)) do
      local raw = redis.call('HGET', C.listed, uri)
      if raw and cjson.decode(raw).pl == pl then redis.call('HDEL', C.listed, uri) end
    end
    redis.call('ZREMRANGEBYRANK', w, 0, extra - 1)
  end
  redis.call('ZREMRANGEBYRANK', seen, 0, -(SEEN_MAX + 1))
  redis.call('PEXPIRE', w, HELPER_TTL)
  redis.call('PEXPIRE', seen, HELPER_TTL)
  forget_old_slots(C)
end

local function unclaimed(C, uri)
  return redis.call('HEXISTS', C.uploaded, uri) == 1 and redis.call('HEXISTS', C.listed, uri) == 0
end

-- Whether the chunks a playlist newly lists are all the previous epoch's,
-- at the same sequence, with no new bytes: a playlist of the encoder's run
-- before its restart, arriving late. (A new run that names its chunks as
-- the old one did may see its newest chunk listed one playlist later.)
local function from_before_restart(C, pl, fresh)
  local before = C.pl[pl].seenp
  for _, s in ipairs(fresh) do
    local at = redis.call('ZSCORE', before, s.uri)
    if not at or tonumber(at) ~= s.seq or unclaimed(C, s.uri) then return false end
  end
  return #fresh > 0
end

-- Whether a playlist lists some chunk this epoch has listed before.
local function lists_seen(C, pl, segments)
  local seen = C.pl[pl].seen
  for _, s in ipairs(segments) do
    if redis.call('ZSCORE', seen, s.uri) then return true end
  end
  return false
end

-- A restart: the chunks remembered become the previous epoch's.
local function forget_epoch(C, pl)
  local seen, before = C.pl[pl].seen, C.pl[pl].seenp
  if redis.call('EXISTS', seen) == 1 then
    redis.call('RENAME', seen, before)
    redis.call('PEXPIRE', before, HELPER_TTL)
  else
    redis.call('DEL', before)
  end
end

-- A playlist whose sequence went back is an encoder restart only if it
-- lists new chunks (bytes no listing claims, or a name this epoch listed at
-- another sequence) at least as often as chunks this epoch already has at
-- the same sequence. Otherwise it is an old listing sent again: a retry, or
-- a PUT overtaken by a later one (whose oldest chunks may be unlisted yet).
local function brings_new_chunks(C, pl, segments, most)
  local seen = C.pl[pl].seen
  local new, old = 0, 0
  for _, s in ipairs(segments) do
    local at = redis.call('ZSCORE', seen, s.uri)
    if unclaimed(C, s.uri) or (at and tonumber(at) ~= s.seq) then
      new = new + 1
    elseif at then
      old = old + 1
    end
  end
  -- (A one-chunk playlist at the last sequence, with its bytes again, is a
  -- retry as likely as a restart: taken for a retry.)
  if most then return #segments > 1 and new > old end
  return new > 0 and new >= old
end
