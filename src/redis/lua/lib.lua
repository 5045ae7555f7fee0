-- Shared helpers, prepended to every script. Every script gets each key it
-- touches through KEYS (src/redis/script-keys.ts builds the lists; the test
-- suite runs every script under src/redis/key-guard.lua, which fails on any
-- other key); the helpers below take key names and build none.
--
-- The retention invariant (docs/retention.md): a chunk lives while the
-- window, a clip span or a VOD hold needs it. Per stream:
--   i:{pl}   the window index of a rendition: zset, score = chunk start (unix
--            ms), member "chunkId|durMs|size|discSeq|disc|n"
--   a:{pl}   the archive: chunks that left the window while a clip covered them
--   dr:{pl}  a dropped DVR still being retired, a batch at a time
--   cws/cwe  zsets clipId -> start / end (ms) of the span each held clip covers
--   held     zset clipId -> until when (ms) the clip keeps its chunks
--   recheck  archived ranges a released clip covered, still to look at again
--   dead     set of chunk ids no longer needed; TypeScript unlinks their bytes
-- A chunk [s, f) is needed while some held clip has ws < f and we > s:
-- (clips with ws < f) minus (clips with we <= s), two O(log n) counts, so
-- no script ever walks the clips. Walks over chunks are bounded by a budget
-- per call; the caller calls again while work remains.

local function split(member)
  local out = {}
  for part in string.gmatch(member, '[^|]+') do out[#out + 1] = part end
  return out
end

-- An integer as exact text: tostring and cjson keep 14 digits, which rounds
-- media sequence numbers past 10^14 (ffmpeg's epoch_us); doubles hold every
-- integer up to 2^53 exactly, and '%.0f' prints all of their digits.
local function int(x) return string.format('%.0f', x) end

-- The index member format "id|durMs|size|discSeq|disc|n[|init]" (its score
-- is the chunk's start; `init` only for an fMP4 chunk: the id of its init
-- segment): built and read only through these, the Lua twin of
-- src/dvr/chunk-ref.ts (change both together).
local function chunk_member(id, dur, size, disc_seq, disc, n, init)
  local member = table.concat({ id, int(dur), int(size), int(disc_seq), disc and '1' or '0', int(n) }, '|')
  if init then member = member .. '|' .. init end
  return member
end
local function member_id(member) return string.match(member, '^[^|]*') end
local function member_dur(member) return tonumber(string.match(member, '^[^|]*|([^|]*)')) end

local function window_of(meta_key)
  local meta = redis.call('HMGET', meta_key, 'dvr_duration', 'dvr_enabled')
  local seconds = tonumber(meta[1] or '3600')
  -- Without DVR only the live edge is kept, enough for a live playlist.
  if meta[2] == '0' then seconds = math.min(seconds, 30) end
  return seconds * 1000
end

-- Whether a held clip covers [start, finish).
local function needed(r, start, finish)
  local began = redis.call('ZCOUNT', r.cws, '-inf', '(' .. finish)
  if began == 0 then return false end
  return began - redis.call('ZCOUNT', r.cwe, '-inf', start) > 0
end

-- Chunks leaving the window (or a dropped DVR) in one batch: into the archive
-- those a clip covers, the others' ids to the dead set. Batched writes: one
-- call per key, not one per chunk. `chunks` is a WITHSCORES reply.
local function retire_all(r, archive, chunks, first, last)
  local keep, gone = {}, {}
  for j = first, last, 2 do
    local member, start = chunks[j], tonumber(chunks[j + 1])
    if needed(r, start, start + member_dur(member)) then
      keep[#keep + 1] = start
      keep[#keep + 1] = member
    else
      gone[#gone + 1] = member_id(member)
    end
  end
  for i = 1, #keep, 7998 do redis.call('ZADD', archive, unpack(keep, i, math.min(i + 7997, #keep))) end
  for i = 1, #gone, 7999 do redis.call('SADD', r.dead, unpack(gone, i, math.min(i + 7998, #gone))) end
end

local function retire(r, archive, member, start) retire_all(r, archive, { member, start }, 1, 1) end

-- Retire up to `budget` chunks of one rendition that ended before the
-- window start. Returns how many were retired and whether more are due.
local function trim_keys(r, index, archive, now, window, budget)
  local cutoff = now - window
  -- Scores are start times: a chunk ending before the cutoff started before it.
  local old = redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. cutoff, 'WITHSCORES', 'LIMIT', 0, budget + 1)
  local ended, members = {}, {}
  for j = 1, math.min(#old, 2 * budget), 2 do
    local member, start = old[j], tonumber(old[j + 1])
    if start + member_dur(member) <= cutoff then
      ended[#ended + 1] = member
      ended[#ended + 1] = old[j + 1]
      members[#members + 1] = member
    end
  end
  if #members == 0 then return 0, false end
  retire_all(r, archive, ended, 1, #ended - 1)
  for i = 1, #members, 7999 do redis.call('ZREM', index, unpack(members, i, math.min(i + 7998, #members))) end
  return #members, #old > 2 * budget
end

-- A released clip's span [ws, we) in one rendition's archive goes into
-- `recheck` (as "pl|from|to|clipId"): sweep_retention.lua looks at those
-- chunks again, a batch at a time. `from` is a ZRANGEBYSCORE bound.
local function queue_recheck(recheck, archive, pl, ws, we, clip_id, now)
  local from = ws
  local at = redis.call('ZREVRANGEBYSCORE', archive, '(' .. ws, '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if at[2] and tonumber(at[2]) + tonumber(split(at[1])[2]) > ws then from = tonumber(at[2]) end
  if redis.call('ZCOUNT', archive, from, '(' .. we) == 0 then return end
  redis.call('ZADD', recheck, now, pl .. '|' .. from .. '|' .. we .. '|' .. clip_id)
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
local function note_chunk_for_events(meta, outbox, now)
  local m = redis.call('HMGET', meta, 'id', 'live_ev', 'last_chunk_at', 'tdur')
  if not m[1] then return end
  if m[2] == '1' then
    local silent_ms = 3 * math.max(tonumber(m[4] or '0') or 0, 1) * 1000
    if now - tonumber(m[3] or '0') <= silent_ms then return end
    -- Silence the sweep has not noticed yet: offline first, then live again.
    outbox_push(outbox, 'stream.offline', m[1], meta)
  end
  redis.call('HSET', meta, 'live_ev', '1')
  outbox_push(outbox, 'stream.live', m[1], meta)
end

-- Clips whose expiration has come leave the clip list with their
-- clip.expired event in trim_window.lua (the records are declared keys there).
-- The record of a clip whose company subscribed to clip.expired outlives the
-- expiration by its `ev_grace` (ms, set at creation by src/events/announce.ts).
