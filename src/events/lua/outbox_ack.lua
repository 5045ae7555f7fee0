-- KEYS[1]: an outbox; ARGV: entry ids relayed
-- Deletes the entries once their deliveries are queued, and the outbox with
-- its last entry (an empty stream key would linger), in one step so an
-- entry added meanwhile is never lost.
redis.call('XDEL', KEYS[1], unpack(ARGV))
if redis.call('XLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return 1
