-- KEYS: meta, cws, cwe, held, recording, recheck, dead, then i:{pl}, a:{pl}, dr:{pl} per playlist
-- ARGV: now, playlists JSON [names], budget (chunks looked at in this call)
-- The retention work that may be long, a bounded batch per call: clips whose
-- hold ended leave the span sets (their archived ranges queued for a
-- recheck); queued ranges are looked at again; a dropped DVR is retired;
-- chunks that left the window are retired. Returns {more (0|1), retired}:
-- the caller calls again while `more` is 1, so no call blocks Redis long.
local meta, held_key, recording, recheck = KEYS[1], KEYS[4], KEYS[5], KEYS[6]
local r = { cws = KEYS[2], cwe = KEYS[3], dead = KEYS[7] }
local now, budget = tonumber(ARGV[1]), tonumber(ARGV[3])
local playlists = cjson.decode(ARGV[2])
local archive_of, index_of, drain_of = {}, {}, {}
for i, pl in ipairs(playlists) do
  index_of[pl], archive_of[pl], drain_of[pl] = KEYS[5 + 3 * i], KEYS[6 + 3 * i], KEYS[7 + 3 * i]
end
local retired, more = 0, false

-- 1. Holds that ended (expiration, or a VOD hold past it): the record is
-- expiring on its own TTL; the span goes, its archived ranges are rechecked.
-- Each costs a few calls per rendition: it spends that much of the budget.
local per_clip = 2 + 2 * #playlists
local ended = redis.call('ZRANGEBYSCORE', held_key, '-inf', now, 'LIMIT', 0, math.max(1, math.floor(budget / per_clip)))
for _, clip_id in ipairs(ended) do
  local ws, we = redis.call('ZSCORE', r.cws, clip_id), redis.call('ZSCORE', r.cwe, clip_id)
  redis.call('ZREM', r.cws, clip_id)
  redis.call('ZREM', r.cwe, clip_id)
  redis.call('ZREM', held_key, clip_id)
  redis.call('ZREM', recording, clip_id)
  if ws and we then
    for _, pl in ipairs(playlists) do queue_recheck(recheck, archive_of[pl], pl, tonumber(ws), tonumber(we), clip_id, now) end
  end
end
budget = budget - #ended * per_clip
if budget <= 0 then return { 1, retired } end

-- 2. Archived ranges a released clip covered: keep what another clip still covers.
while budget > 0 do
  local queued = redis.call('ZRANGE', recheck, 0, 0)[1]
  if not queued then break end
  redis.call('ZREM', recheck, queued)
  local q = split(queued)
  local archive = archive_of[q[1]]
  if archive then
    local chunks = redis.call('ZRANGEBYSCORE', archive, q[2], '(' .. q[3], 'WITHSCORES', 'LIMIT', 0, budget)
    local members, ids = {}, {}
    for j = 1, #chunks, 2 do
      local member, start = chunks[j], tonumber(chunks[j + 1])
      if not needed(r, start, start + member_dur(member)) then
        members[#members + 1] = member
        ids[#ids + 1] = member_id(member)
      end
    end
    if #members > 0 then
      redis.call('ZREM', archive, unpack(members))
      redis.call('SADD', r.dead, unpack(ids))
      retired = retired + #members
    end
    local seen = #chunks / 2
    budget = budget - math.max(seen, 1)
    if seen > 0 and budget <= 0 then
      -- The rest of the range waits for the next call.
      redis.call('ZADD', recheck, 0, q[1] .. '|(' .. chunks[#chunks] .. '|' .. q[3] .. '|' .. q[4])
      more = true
    end
  end
end
if budget <= 0 then return { 1, retired } end

-- 3. A dropped DVR (drop_dvr.lua): each chunk goes to the archive or away.
for _, pl in ipairs(playlists) do
  if budget <= 0 then break end
  local drain = drain_of[pl]
  local chunks = redis.call('ZRANGE', drain, 0, budget - 1, 'WITHSCORES')
  local n = #chunks / 2
  if n > 0 then
    retire_all(r, archive_of[pl], chunks, 1, #chunks - 1)
    redis.call('ZREMRANGEBYRANK', drain, 0, n - 1)
    retired = retired + n
    budget = budget - n
    if redis.call('EXISTS', drain) == 1 then more = true end
  end
end

-- 4. Chunks that left the window (a cleaner pass, a shrunk window).
local window = window_of(meta)
for _, pl in ipairs(playlists) do
  if budget <= 0 then more = true break end
  local removed, left = trim_keys(r, index_of[pl], archive_of[pl], now, window, budget)
  retired = retired + removed
  budget = budget - removed
  if left then more = true end
end
return { (more or budget <= 0) and 1 or 0, retired }
