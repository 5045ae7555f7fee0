-- Shared helpers, prepended to every script. `base` is the stream's key
-- prefix including its hash tag, so every key built here shares one slot.
--
-- Layout per stream (see src/redis/keys.ts):
--   i:{pl}   the window index of a rendition: zset, score = chunk start (unix
--            ms), member "chunkId|durMs|size|discSeq|disc|n"
--   a:{pl}   the archive: chunks that left the window but a clip still needs
--   ax:{pl}  the same members scored by when no clip needs them any more
--   spans    clipId -> "ws|we|expires": the time a clip covers and until when
-- A clip copies nothing: its chunks are the members of i and a inside its
-- span. Its span keeps chunks alive once they leave the window.

local function split(member)
  local out = {}
  for part in string.gmatch(member, '[^|]+') do out[#out + 1] = part end
  return out
end

local function chunk_key(base, id) return base .. ':c:' .. id end

-- An integer as exact text: tostring and cjson keep 14 digits, which rounds
-- media sequence numbers past 10^14 (ffmpeg's epoch_us); doubles hold every
-- integer up to 2^53 exactly, and '%.0f' prints all of their digits.
local function int(x) return string.format('%.0f', x) end

-- The index member format "id|durMs|size|discSeq|disc|n" (its score is the
-- chunk's start): built and read only through these, the Lua twin of
-- src/dvr/chunk-ref.ts (change both together).
local function chunk_member(id, dur, size, disc_seq, disc, n)
  return table.concat({ id, int(dur), int(size), int(disc_seq), disc and '1' or '0', int(n) }, '|')
end
local function member_id(member) return string.match(member, '^[^|]*') end
local function member_dur(member) return tonumber(string.match(member, '^[^|]*|([^|]*)')) end

local function window_ms(base)
  local meta = redis.call('HMGET', base .. ':meta', 'dvr_duration', 'dvr_enabled')
  local seconds = tonumber(meta[1] or '3600')
  -- Without DVR only the live edge is kept, enough for a live playlist.
  if meta[2] == '0' then seconds = math.min(seconds, 30) end
  return seconds * 1000
end

-- The spans of unexpired clips (other than `except`), read once per script:
-- a list of {ws, we, expires}.
local function live_spans(base, now, except)
  local raw = redis.call('HGETALL', base .. ':spans')
  local spans = {}
  for i = 1, #raw, 2 do
    if raw[i] ~= except then
      local s = split(raw[i + 1])
      local exp = tonumber(s[3])
      if exp > now then spans[#spans + 1] = { tonumber(s[1]), tonumber(s[2]), exp } end
    end
  end
  return spans
end

-- Until when some clip of `spans` covers [start, finish) (0: none does).
local function needed_until(spans, start, finish)
  local until_ms = 0
  for _, s in ipairs(spans) do
    if s[1] < finish and s[2] > start and s[3] > until_ms then until_ms = s[3] end
  end
  return until_ms
end

-- A chunk leaves the window: into the archive if a clip needs it, else gone.
local function retire(base, pl, member, start, spans)
  local parts = split(member)
  local until_ms = needed_until(spans, start, start + tonumber(parts[2]))
  if until_ms > 0 then
    redis.call('ZADD', base .. ':a:' .. pl, start, member)
    redis.call('ZADD', base .. ':ax:' .. pl, until_ms, member)
    redis.call('PEXPIREAT', chunk_key(base, parts[1]), until_ms)
  else
    redis.call('DEL', chunk_key(base, parts[1]))
  end
end

-- Retire every chunk of one rendition that ended before the window start.
local function trim_index(base, pl, now, window)
  local index = base .. ':i:' .. pl
  local cutoff = now - window
  -- Scores are start times: a chunk ending before the cutoff started before it.
  local old = redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. cutoff, 'WITHSCORES')
  local removed, spans = 0, nil
  for j = 1, #old, 2 do
    local member, start = old[j], tonumber(old[j + 1])
    if start + tonumber(split(member)[2]) <= cutoff then
      spans = spans or live_spans(base, now, nil)
      retire(base, pl, member, start, spans)
      redis.call('ZREM', index, member)
      removed = removed + 1
    end
  end
  return removed
end

-- Forget archived chunks no clip needs any more (their keys are expiring now).
local function sweep_archive(base, pl, now)
  local ax = base .. ':ax:' .. pl
  local gone = redis.call('ZRANGEBYSCORE', ax, '-inf', now)
  for _, member in ipairs(gone) do
    redis.call('ZREM', base .. ':a:' .. pl, member)
    redis.call('DEL', chunk_key(base, split(member)[1]))
  end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', ax, '-inf', now) end
  return #gone
end

-- Events (webhooks): recorded in the same script as the change they announce,
-- so a crash can never keep one and lose the other. An outbox is a Redis
-- stream (`{tag}:outbox`, see src/events/keys.ts); each entry carries the
-- event type, the object id and a snapshot of its record, which
-- src/events/relay.ts turns into deliveries before deleting the entry.
local function outbox_push(outbox, event, object_id, record_key)
  redis.call('XADD', outbox, '*', 'type', event, 'id', object_id, 'rec', cjson.encode(redis.call('HGETALL', record_key)))
end

-- A chunk arrives (commit.lua, before last_chunk_at moves): the first one
-- after silence makes the stream live. `live_ev` remembers what was last
-- announced, so live and offline alternate (offline: src/events/lua).
local function note_chunk_for_events(base, now)
  local meta = base .. ':meta'
  local m = redis.call('HMGET', meta, 'id', 'live_ev', 'last_chunk_at', 'tdur')
  if not m[1] then return end
  if m[2] == '1' then
    local silent_ms = 3 * math.max(tonumber(m[4] or '0') or 0, 1) * 1000
    if now - tonumber(m[3] or '0') <= silent_ms then return end
    -- Silence the sweep has not noticed yet: offline first, then live again.
    outbox_push(base .. ':outbox', 'stream.offline', m[1], meta)
  end
  redis.call('HSET', meta, 'live_ev', '1')
  outbox_push(base .. ':outbox', 'stream.live', m[1], meta)
end

-- Clips whose expiration has come leave the clip list, each with its
-- clip.expired event. The record of a clip whose company subscribed to
-- clip.expired outlives the expiration by its `ev_grace` (ms, set at
-- creation by src/events/announce.ts) so the event can carry it.
local function expire_clips(base, now)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', base .. ':clips', '-inf', now)) do
    outbox_push(base .. ':outbox', 'clip.expired', id, base .. ':k:' .. id)
  end
  redis.call('ZREMRANGEBYSCORE', base .. ':clips', '-inf', now)
end
