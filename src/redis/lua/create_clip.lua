-- ARGV: base, clipId, now, ws, we, expiresMs, playlists JSON [names], fields JSON {field: value}
-- Cuts a clip by reference: for each rendition, the index members that
-- overlap [ws, we) are copied into the clip's own sorted set and their chunks
-- pinned until the clip expires. No media is copied.
-- Returns {'ok', state} with state 'complete' or 'recording', or {'err', reason}.
local base, clip_id, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ws, we, expires = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local playlists = cjson.decode(ARGV[7])
local fields = cjson.decode(ARGV[8])
local ckey = base .. ':k:' .. clip_id
if redis.call('EXISTS', ckey) == 1 then return { 'err', 'exists' } end

local window = window_ms(base)
local picked, oldest, complete = {}, nil, true
for i, pl in ipairs(playlists) do
  local index = base .. ':i:' .. pl
  local first = redis.call('ZRANGE', index, 0, 0, 'WITHSCORES')
  if first[2] then
    local s = tonumber(first[2])
    if not oldest or s < oldest then oldest = s end
  end
  -- A chunk overlapping ws started at most one window before it; the
  -- exact overlap test below keeps only the real ones.
  local candidates = redis.call('ZRANGEBYSCORE', index, math.max(ws - 600000, now - window - 600000), '(' .. we, 'WITHSCORES')
  local members, last_end = {}, nil
  for j = 1, #candidates, 2 do
    local member, start = candidates[j], tonumber(candidates[j + 1])
    local finish = start + tonumber(split(member)[2])
    if finish > ws then
      members[#members + 1] = start
      members[#members + 1] = member
      last_end = finish
    end
  end
  if not last_end or last_end < we then complete = false end
  picked[i] = members
end
if oldest == nil and we <= now then return { 'err', 'empty' } end
if oldest ~= nil and we <= oldest then return { 'err', 'before_dvr' } end

local expires_s = tostring(expires)
for i, pl in ipairs(playlists) do
  local members = picked[i]
  if #members > 0 then
    local list = ckey .. ':' .. pl
    for j = 1, #members, 2 do
      pin(base, split(members[j + 1])[1], expires)
    end
    for j = 1, #members, 1000 do
      redis.call('ZADD', list, unpack(members, j, math.min(j + 999, #members)))
    end
    redis.call('PEXPIREAT', list, expires)
  end
  fields['pl:' .. pl] = '1'
end
fields['ws'] = ws
fields['we'] = we
fields['expires_ms'] = expires_s
fields['status'] = complete and 'ready' or 'recording'
for k, v in pairs(fields) do redis.call('HSET', ckey, k, v) end
redis.call('PEXPIREAT', ckey, expires)
redis.call('ZADD', base .. ':clips', expires, clip_id)
if not complete then redis.call('ZADD', base .. ':recording', we, clip_id) end
return { 'ok', complete and 'complete' or 'recording' }
