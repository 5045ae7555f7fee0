-- KEYS: clip, meta, clips, recording, cws, cwe, held, outbox, then i:{pl} per playlist
-- ARGV: clipId, now, ws, we, expiresMs, playlists JSON [names], fields JSON {field: value}, holdMs, maxClips
-- holdMs: how much longer than its expiration a clip keeps its chunks and
-- record for a VOD promotion still to come (0 when none is asked).
-- Cuts a clip by reference, in O(log n) whatever its length: it records the
-- span it covers and, per rendition, the start of its first chunk (cs:{pl})
-- and, when the DVR already holds its end, of its last one (ce:{pl}). The
-- span (cws/cwe until held) keeps those chunks alive after they leave the
-- window (lib.lua `needed`).
-- Returns {'ok', 'complete' | 'recording'} or {'err', reason}.
local ckey, meta, clips, recording, cws, cwe, held_key, outbox = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local clip_id, now = ARGV[1], tonumber(ARGV[2])
local ws, we, expires = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local playlists = cjson.decode(ARGV[6])
local fields = cjson.decode(ARGV[7])
local held = expires + tonumber(ARGV[8] or '0')
local max_clips = tonumber(ARGV[9] or '0')
if redis.call('EXISTS', ckey) == 1 then return { 'err', 'exists' } end
if max_clips > 0 and redis.call('ZCOUNT', clips, '(' .. now, '+inf') >= max_clips then return { 'err', 'too_many' } end

local cutoff = now - window_of(meta)
local complete, any, oldest = true, false, nil
for i, pl in ipairs(playlists) do
  local index = KEYS[8 + i]
  -- The oldest chunk of the window (the index may still list a few older
  -- ones the cleaner has not retired yet).
  local first_held = redis.call('ZRANGEBYSCORE', index, cutoff, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if first_held[2] and (not oldest or tonumber(first_held[2]) < oldest) then oldest = tonumber(first_held[2]) end
  -- First chunk overlapping the span: the one running at ws, else the
  -- first to start after it.
  local first = nil
  local at = redis.call('ZREVRANGEBYSCORE', index, ws, '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if at[2] and tonumber(at[2]) + tonumber(split(at[1])[2]) > ws then first = tonumber(at[2]) end
  if not first then
    local after = redis.call('ZRANGEBYSCORE', index, '(' .. ws, '(' .. we, 'WITHSCORES', 'LIMIT', 0, 1)
    if after[2] then first = tonumber(after[2]) end
  end
  local last = redis.call('ZREVRANGEBYSCORE', index, '(' .. we, '-inf', 'WITHSCORES', 'LIMIT', 0, 1)
  local last_start = last[2] and tonumber(last[2])
  if first and last_start and last_start >= first then
    any = true
    fields['cs:' .. pl] = first
    if last_start + tonumber(split(last[1])[2]) >= we then fields['ce:' .. pl] = last_start else complete = false end
  else
    complete = false
  end
end
if not any and we <= now then
  if oldest ~= nil and we <= oldest then return { 'err', 'before_dvr' } end
  return { 'err', 'empty' }
end

fields['ws'] = ws
fields['we'] = we
fields['expires_ms'] = expires
complete = complete and #playlists > 0
fields['status'] = complete and 'ready' or 'recording'
-- Whole already: the stream's largest chunk so far bounds every one of its
-- chunks (src/clips/target-duration.ts).
if complete then fields['tdur'] = math.max(tonumber(redis.call('HGET', meta, 'tdur') or '1'), 1) end
for k, v in pairs(fields) do redis.call('HSET', ckey, k, v) end
-- A company subscribed to clip.expired keeps the record a little longer (ev_grace), for the event.
redis.call('PEXPIREAT', ckey, held + tonumber(fields['ev_grace'] or '0'))
redis.call('ZADD', cws, ws, clip_id)
redis.call('ZADD', cwe, we, clip_id)
redis.call('ZADD', held_key, held, clip_id)
redis.call('ZADD', clips, expires, clip_id)
if not complete then redis.call('ZADD', recording, we, clip_id) end
outbox_push(outbox, 'clip.created', clip_id, ckey)
if complete then outbox_push(outbox, 'clip.ready', clip_id, ckey) end
return { 'ok', complete and 'complete' or 'recording' }
