-- ARGV: base, clipId, now, ws, we, expiresMs, playlists JSON [names], fields JSON {field: value}, holdMs
-- holdMs: how much longer than its expiration a clip keeps its chunks and
-- record for a VOD promotion still to come (0 when none is asked).
-- Cuts a clip by reference, in O(log n) whatever its length: it records the
-- span it covers and, per rendition, the start of its first chunk (cs:{pl})
-- and, when the DVR already holds its end, of its last one (ce:{pl}). The
-- span keeps those chunks alive after they leave the window (lib.lua).
-- Returns {'ok', 'complete' | 'recording'} or {'err', reason}.
local base, clip_id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ws, we, expires = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local playlists = cjson.decode(ARGV[7])
local fields = cjson.decode(ARGV[8])
local held = expires + tonumber(ARGV[9] or '0')
local ckey = base .. ':k:' .. clip_id
if redis.call('EXISTS', ckey) == 1 then return { 'err', 'exists' } end

local complete, any, oldest = true, false, nil
for _, pl in ipairs(playlists) do
  local index = base .. ':i:' .. pl
  local first_held = redis.call('ZRANGE', index, 0, 0, 'WITHSCORES')
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
if complete then fields['tdur'] = redis.call('HGET', base .. ':meta', 'tdur') or fields['tdur'] end
for k, v in pairs(fields) do redis.call('HSET', ckey, k, v) end
redis.call('PEXPIREAT', ckey, held + tonumber(fields['ev_grace'] or '0'))
redis.call('HSET', base .. ':spans', clip_id, ws .. '|' .. we .. '|' .. held)
redis.call('ZADD', base .. ':clips', expires, clip_id)
if not complete then redis.call('ZADD', base .. ':recording', we, clip_id) end
outbox_push(base .. ':outbox', 'clip.created', clip_id, ckey)
if complete then outbox_push(base .. ':outbox', 'clip.ready', clip_id, ckey) end
return { 'ok', complete and 'complete' or 'recording' }
