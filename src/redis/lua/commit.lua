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
-- Keys, besides lib.lua's:
--   playlists    hash pl -> timeline state JSON (load_state below)
--   listed       hash uri -> listing JSON of a chunk listed, not yet in the index
--   uploaded     hash uri -> chunk id of bytes no listing has claimed yet
--   w:{pl}       zset uri by o: pl's listings not yet in the index (bounded)
--   seen:{pl}    zset uri by media sequence: pl's recent chunks of the current
--                epoch, to tell a playlist sent again from an encoder restart
--   seenp:{pl}   the same for the epoch before
--   slot:{e}:{q} "start|discSeq" of (epoch, sequence), shared by the renditions
-- Numbers that can be large (sequences) are stored as exact text (int()).

-- Listings one rendition may have waiting for their bytes: bounds `listed`
-- however many chunks a pushed playlist lists (the oldest are forgotten).
local WAITING_MAX = 256
-- Chunks of the current epoch remembered per rendition.
local SEEN_MAX = 256
-- Helper sets outlive a deleted stream by at most this.
local HELPER_TTL = 3600000

local function load_state(base, pl)
  local raw = redis.call('HGET', base .. ':playlists', pl)
  local s = raw and cjson.decode(raw)
  if not s then
    -- A rendition that starts after others joins their epoch and their
    -- count of discontinuities, so it lines up with them.
    local stream = redis.call('HMGET', base .. ':meta', 'epoch', 'disc_seq')
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

local function save_state(base, pl, st)
  local stream = redis.call('HMGET', base .. ':meta', 'epoch', 'disc_seq')
  if st.epoch > tonumber(stream[1] or '0') then redis.call('HSET', base .. ':meta', 'epoch', int(st.epoch)) end
  if st.discSeq > tonumber(stream[2] or '0') then redis.call('HSET', base .. ':meta', 'disc_seq', int(st.discSeq)) end
  redis.call('HSET', base .. ':playlists', pl, cjson.encode({
    epoch = int(st.epoch), lastSeq = int(st.lastSeq), discSeq = int(st.discSeq), o = int(st.o), next = int(st.next),
    start = st.start and int(st.start), finish = st.finish and int(st.finish), blocked = int(st.blocked),
  }))
end

-- The init segment a listing names (EXT-X-MAP), if its bytes are here: its id.
local function listed_init(base, l)
  if not l.map then return nil end
  local init = redis.call('HGET', base .. ':inits', l.map)
  if init and redis.call('EXISTS', base .. ':init:' .. init) == 1 then return init end
  return nil
end

-- An fMP4 init segment lives at least as long as every chunk committed with
-- it (`expires`: the chunk's backstop); the uri map as long as chunks bind.
local function keep_init(base, init, expires)
  local ikey = base .. ':init:' .. init
  local left = redis.call('PTTL', ikey)
  if left >= 0 and redis.call('TIME')[1] * 1000 + left < expires then redis.call('PEXPIREAT', ikey, int(expires)) end
  redis.call('PEXPIRE', base .. ':inits', HELPER_TTL)
end

-- Puts one chunk into its rendition's window index. nil if its bytes expired;
-- {pl, '!' .. uri} if it is an fMP4 chunk its playlist names no init for
-- (it would not play: it is dropped).
local function enter_index(base, l, id, now, grace, hold, uri)
  local ckey = chunk_key(base, id)
  if redis.call('EXISTS', ckey) == 0 then return nil end
  local pl, start, dur = l.pl, tonumber(l.start), tonumber(l.dur)
  local init = listed_init(base, l)
  if not init and redis.call('HGET', ckey, 'f') == 'fmp4' then
    redis.call('DEL', ckey)
    return { pl, '!' .. uri, int(start) }
  end
  local size = redis.call('HSTRLEN', ckey, 'b')
  local n = redis.call('HINCRBY', base .. ':rseq', pl, 1)
  local member = chunk_member(id, dur, size, tonumber(l.discSeq), l.disc, n, init)
  redis.call('ZADD', base .. ':i:' .. pl, int(start), member)
  -- Its rendition and start: a clip's chunk URL serves it only inside that clip's span (src/clips/chunk-grant.ts).
  redis.call('HSET', ckey, 'p', pl, 's', int(start))
  local window = window_ms(base)
  -- The window retires the chunk explicitly (trim_index); this TTL is only
  -- the backstop. It outlasts the window by the longest clip expiration
  -- (4 h) and a VOD promotion's hold, so neither a window raised later
  -- (dvr_duration spans at most 4 h) nor a cleaner running late can drop a
  -- chunk a clip still needs.
  local backstop = int(math.max(start + dur, now) + window + 4 * 3600000 + hold + grace)
  redis.call('PEXPIREAT', ckey, backstop)
  if init then keep_init(base, init, tonumber(backstop)) end
  note_chunk_for_events(base, now)
  redis.call('HSET', base .. ':meta', 'last_chunk_at', int(now))
  -- The largest chunk so far bounds every clip's EXT-X-TARGETDURATION.
  local rounded = math.floor(dur / 1000 + 0.5)
  if rounded > tonumber(redis.call('HGET', base .. ':meta', 'tdur') or '0') then
    redis.call('HSET', base .. ':meta', 'tdur', rounded)
  end
  redis.call('HINCRBY', base .. ':rstat', pl .. ':bytes', size)
  redis.call('HINCRBY', base .. ':rstat', pl .. ':ms', int(dur))
  trim_index(base, pl, now, window)
  return { pl, member, int(start) }
end

-- Whether some listing after the head of `w` has its bytes here.
local function ready_after(base, w)
  for _, uri in ipairs(redis.call('ZRANGE', w, 1, -1)) do
    if redis.call('HEXISTS', base .. ':uploaded', uri) == 1 then return true end
  end
  return false
end

-- Moves into the index every chunk of `pl` that may enter now, in listing
-- order; appends their results to `out`. A chunk whose bytes are late holds
-- back the chunks listed after it for a few of its durations, then is given
-- up (its bytes, if they ever come, are no longer claimed).
local function advance(base, pl, st, now, grace, hold, out)
  local w = base .. ':w:' .. pl
  for _ = 0, redis.call('ZCARD', w) do
    local head = redis.call('ZRANGE', w, 0, 0, 'WITHSCORES')
    if #head == 0 then st.blocked = 0; return end
    local uri, o = head[1], tonumber(head[2])
    local raw = redis.call('HGET', base .. ':listed', uri)
    local l = raw and cjson.decode(raw)
    if not l or l.pl ~= pl or tonumber(l.o) ~= o or o < st.next then
      -- Forgotten (aged out, the DVR was emptied), listed again since, or given up.
      redis.call('ZREM', w, uri)
    else
      local id = redis.call('HGET', base .. ':uploaded', uri)
      -- A chunk whose playlist names an init segment waits for it too.
      if id and (not l.map or listed_init(base, l)) then
        redis.call('ZREM', w, uri)
        redis.call('HDEL', base .. ':listed', uri)
        redis.call('HDEL', base .. ':uploaded', uri)
        st.next, st.blocked = o + 1, 0
        local result = enter_index(base, l, id, now, grace, hold, uri)
        if result then out[#out + 1] = result end
      elseif not ready_after(base, w) then
        st.blocked = 0
        return
      elseif st.blocked == 0 then
        st.blocked = now
        return
      elseif now - st.blocked < math.min(math.max(3 * tonumber(l.dur), 6000), 60000) then
        return
      else
        redis.call('ZREM', w, uri)
        redis.call('HDEL', base .. ':listed', uri)
        st.next = o + 1
      end
    end
  end
end

-- Bytes of `uri` arrived: commits what they complete. A list of results.
local function commit_upload(base, uri, now, grace, hold)
  local raw = redis.call('HGET', base .. ':listed', uri)
  if not raw then return {} end
  local pl = cjson.decode(raw).pl
  local st = load_state(base, pl)
  local out = {}
  advance(base, pl, st, now, grace, hold, out)
  save_state(base, pl, st)
  return out
end

local function slot_key(base, epoch, seq) return base .. ':slot:' .. int(epoch) .. ':' .. int(seq) end

-- The discontinuity sequence another rendition gave (epoch, seq), if any.
local function slot_disc_seq(base, epoch, seq)
  local v = redis.call('GET', slot_key(base, epoch, seq))
  return v and tonumber(string.match(v, '|(%d+)$'))
end

-- The start (unix ms) of a newly listed chunk `s` of the rendition in state
-- `st`. `arrival` is when it started if the playlist's last chunk ended now.
-- Never at or before the start of the chunk listed before it: the index is
-- ordered by start, so the timeline cannot be permuted.
local function place(base, st, s, arrival, disc, now)
  local pdt = tonumber(s.programDateTimeMs)
  -- An encoder clock far off the wall clock would empty the DVR or stall
  -- clips: such a program date time is ignored.
  if pdt and (pdt > now + 10000 or pdt < now - s.durationMs - 60000) then pdt = nil end
  local slot = slot_key(base, st.epoch, s.seq)
  -- The encoder's clock, else the start another rendition gave the same
  -- (epoch, sequence), else right after the chunk listed before it.
  local start = pdt or tonumber(string.match(redis.call('GET', slot) or '', '^[^|]+') or '')
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
  redis.call('SET', slot, int(start) .. '|' .. int(st.discSeq), 'PX', 600000, 'NX')
  return start
end

-- Records a newly listed chunk: its listing number, place and listing.
local function list_chunk(base, pl, st, s, arrival, disc, now)
  local start = place(base, st, s, arrival, disc, now)
  st.o = st.o + 1
  redis.call('HSET', base .. ':listed', s.uri, cjson.encode({
    pl = pl, o = int(st.o), seq = int(s.seq), epoch = int(st.epoch), dur = int(s.durationMs), disc = disc,
    discSeq = int(st.discSeq), start = int(start), at = int(now), map = s.map,
  }))
  local w, seen = base .. ':w:' .. pl, base .. ':seen:' .. pl
  redis.call('ZADD', w, st.o, s.uri)
  redis.call('ZADD', seen, int(s.seq), s.uri)
  st.lastSeq, st.start, st.finish = s.seq, start, start + s.durationMs
end

-- Keeps the waiting listings and the remembered chunks of `pl` bounded.
local function bound_listings(base, pl)
  local w, seen = base .. ':w:' .. pl, base .. ':seen:' .. pl
  local extra = redis.call('ZCARD', w) - WAITING_MAX
  if extra > 0 then
    for _, uri in ipairs(redis.call('ZRANGE', w, 0, extra - 1)) do
      local raw = redis.call('HGET', base .. ':listed', uri)
      if raw and cjson.decode(raw).pl == pl then redis.call('HDEL', base .. ':listed', uri) end
    end
    redis.call('ZREMRANGEBYRANK', w, 0, extra - 1)
  end
  redis.call('ZREMRANGEBYRANK', seen, 0, -(SEEN_MAX + 1))
  redis.call('PEXPIRE', w, HELPER_TTL)
  redis.call('PEXPIRE', seen, HELPER_TTL)
end

local function unclaimed(base, uri)
  return redis.call('HEXISTS', base .. ':uploaded', uri) == 1 and redis.call('HEXISTS', base .. ':listed', uri) == 0
end

-- Whether the chunks a playlist newly lists are all the previous epoch's,
-- at the same sequence, with no new bytes: a playlist of the encoder's run
-- before its restart, arriving late. (A new run that names its chunks as
-- the old one did may see its newest chunk listed one playlist later.)
local function from_before_restart(base, pl, fresh)
  local before = base .. ':seenp:' .. pl
  for _, s in ipairs(fresh) do
    local at = redis.call('ZSCORE', before, s.uri)
    if not at or tonumber(at) ~= s.seq or unclaimed(base, s.uri) then return false end
  end
  return #fresh > 0
end

-- Whether a playlist lists some chunk this epoch has listed before.
local function lists_seen(base, pl, segments)
  local seen = base .. ':seen:' .. pl
  for _, s in ipairs(segments) do
    if redis.call('ZSCORE', seen, s.uri) then return true end
  end
  return false
end

-- A restart: the chunks remembered become the previous epoch's.
local function forget_epoch(base, pl)
  local seen = base .. ':seen:' .. pl
  if redis.call('EXISTS', seen) == 1 then
    redis.call('RENAME', seen, base .. ':seenp:' .. pl)
    redis.call('PEXPIRE', base .. ':seenp:' .. pl, HELPER_TTL)
  else
    redis.call('DEL', base .. ':seenp:' .. pl)
  end
end

-- A playlist whose sequence went back is an encoder restart only if it
-- lists new chunks (bytes no listing claims, or a name this epoch listed at
-- another sequence) at least as often as chunks this epoch already has at
-- the same sequence. Otherwise it is an old listing sent again: a retry, or
-- a PUT overtaken by a later one (whose oldest chunks may be unlisted yet).
local function brings_new_chunks(base, pl, segments, most)
  local seen = base .. ':seen:' .. pl
  local new, old = 0, 0
  for _, s in ipairs(segments) do
    local at = redis.call('ZSCORE', seen, s.uri)
    if unclaimed(base, s.uri) or (at and tonumber(at) ~= s.seq) then
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
