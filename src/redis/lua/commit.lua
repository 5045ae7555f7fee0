-- A chunk enters the DVR once both its bytes and a playlist listing it have
-- arrived, in whichever order. Returns nil until then; afterwards
-- {playlist, member, start}.
local function commit(base, uri, now, grace, hold)
  local id = redis.call('HGET', base .. ':uploaded', uri)
  local listing = redis.call('HGET', base .. ':listed', uri)
  if not id or not listing then return nil end
  redis.call('HDEL', base .. ':uploaded', uri)
  redis.call('HDEL', base .. ':listed', uri)
  local l = cjson.decode(listing)
  local ckey = chunk_key(base, id)
  if redis.call('EXISTS', ckey) == 0 then return nil end

  -- Start time: the encoder's program date time; else the time another
  -- rendition gave the same (epoch, sequence); else right after this
  -- rendition's previous chunk; else arrival minus duration.
  local slot = base .. ':slot:' .. l.epoch .. ':' .. l.seq
  local pdt = tonumber(l.pdt)
  -- An encoder clock far off the wall clock would empty the DVR or stall
  -- clips: such a program date time is ignored.
  if pdt and (pdt > now + 10000 or pdt < now - l.dur - 60000) then pdt = nil end
  local start = pdt or tonumber(redis.call('GET', slot) or '')
  if not start then
    local prev = redis.call('HGET', base .. ':pltime', l.pl)
    if prev then
      local p = cjson.decode(prev)
      if p.epoch == l.epoch and p.seq + 1 == l.seq and not l.disc then start = p.finish end
    end
    local arrival = now - l.dur
    -- Resynchronise a timeline that drifted away from the wall clock.
    if not start or start > now + 10000 or start < arrival - 30000 then start = arrival end
  end
  redis.call('SET', slot, start, 'PX', 600000, 'NX')
  redis.call('HSET', base .. ':pltime', l.pl, cjson.encode({ epoch = l.epoch, seq = l.seq, finish = start + l.dur }))

  local size = redis.call('HSTRLEN', ckey, 'b')
  local n = redis.call('HINCRBY', base .. ':rseq', l.pl, 1)
  local member = id .. '|' .. l.dur .. '|' .. size .. '|' .. l.discSeq .. '|' .. (l.disc and 1 or 0) .. '|' .. n
  local index = base .. ':i:' .. l.pl
  redis.call('ZADD', index, start, member)
  local window = window_ms(base)
  -- The window retires the chunk explicitly (trim_index); this TTL is only
  -- the backstop. It outlasts the window by the longest clip expiration
  -- (4 h) and a VOD promotion's hold, so neither a window raised later
  -- (dvr_duration spans at most 4 h) nor a cleaner running late can drop a
  -- chunk a clip still needs.
  redis.call('PEXPIREAT', ckey, math.max(start + l.dur, now) + window + 4 * 3600000 + hold + grace)
  redis.call('HSET', base .. ':meta', 'last_chunk_at', now)
  -- The largest chunk so far bounds every clip's EXT-X-TARGETDURATION.
  local rounded = math.floor(l.dur / 1000 + 0.5)
  if rounded > tonumber(redis.call('HGET', base .. ':meta', 'tdur') or '0') then
    redis.call('HSET', base .. ':meta', 'tdur', rounded)
  end
  redis.call('HINCRBY', base .. ':rstat', l.pl .. ':bytes', size)
  redis.call('HINCRBY', base .. ':rstat', l.pl .. ':ms', l.dur)
  trim_index(base, l.pl, now, window)
  return { l.pl, member, tostring(start) }
end
