-- Shared helpers, prepended to every script. `base` is the stream's key
-- prefix including its hash tag, so every key built here shares one slot.
-- An index member is "chunkId|durMs|size|discSeq|disc|n"; its score is the
-- chunk's start time in unix ms.

local function split(member)
  local out = {}
  for part in string.gmatch(member, '[^|]+') do out[#out + 1] = part end
  return out
end

local function chunk_key(base, id) return base .. ':c:' .. id end

-- A chunk is needed until max(its window, every clip that pins it).
-- The pin is kept in the chunk's own hash so a window retirement can tell.
local function pin(base, id, until_ms)
  local key = chunk_key(base, id)
  local current = tonumber(redis.call('HGET', key, 'p') or '0')
  if until_ms > current then
    redis.call('HSET', key, 'p', until_ms)
    redis.call('PEXPIREAT', key, until_ms, 'GT')
  end
end

-- Called when a chunk leaves the DVR window: keep it only for its clips.
local function retire(base, member, now)
  local id = split(member)[1]
  local key = chunk_key(base, id)
  local pinned = tonumber(redis.call('HGET', key, 'p') or '0')
  if pinned > now then
    redis.call('PEXPIREAT', key, pinned)
  else
    redis.call('DEL', key)
  end
end

local function window_ms(base)
  local meta = redis.call('HMGET', base .. ':meta', 'dvr_duration', 'dvr_enabled')
  local seconds = tonumber(meta[1] or '3600')
  -- Without DVR only the live edge is kept, enough for a live playlist.
  if meta[2] == '0' then seconds = math.min(seconds, 30) end
  return seconds * 1000
end

-- Retire every chunk of one rendition that ended before the window start.
local function trim_index(base, index, now, window)
  local cutoff = now - window
  -- Scores are start times: a chunk ending before the cutoff started before it.
  local old = redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. cutoff)
  local removed = 0
  for _, member in ipairs(old) do
    local parts = split(member)
    local start = tonumber(redis.call('ZSCORE', index, member))
    if start + tonumber(parts[2]) <= cutoff then
      retire(base, member, now)
      redis.call('ZREM', index, member)
      removed = removed + 1
    end
  end
  return removed
end
