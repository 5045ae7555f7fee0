-- KEYS: chain, chains, events, seq (one endpoint's slot); ARGV: object, event id, event JSON
-- Appends an event to the endpoint's chain for its object, once however
-- often a relay repeats it. Returns the chain's head (the event to deliver).
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[4]), ARGV[2])
  redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
  redis.call('SADD', KEYS[2], ARGV[1])
end
return redis.call('ZRANGE', KEYS[1], 0, 0)[1]
