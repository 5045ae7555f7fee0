-- ARGV: base, now, graceMs, vodHoldMs
-- The cleaner's pass over a stream's timeline: chunks held back behind one
-- whose bytes never came enter the index once it is given up, even when the
-- encoder sends nothing more. Returns the committed results.
local base, now, grace, hold = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local committed = {}
for _, pl in ipairs(redis.call('HKEYS', base .. ':playlists')) do
  if redis.call('ZCARD', base .. ':w:' .. pl) > 0 then
    local st = load_state(base, pl)
    advance(base, pl, st, now, grace, hold, committed)
    save_state(base, pl, st)
  end
end
return committed
