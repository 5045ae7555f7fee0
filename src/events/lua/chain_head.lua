-- KEYS: endpoint, chain, events (one endpoint's slot)
-- What a delivery job needs in one call: the endpoint's record, the chain's
-- head and that head's event.
local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
return { redis.call('HGETALL', KEYS[1]), head or false, head and redis.call('HGET', KEYS[3], head) or false }
