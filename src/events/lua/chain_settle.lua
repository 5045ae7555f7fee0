-- KEYS: chain, chains, events; ARGV: object, event id
-- An event is done with (delivered, or given up): the next one of its
-- object becomes the head. Returns that head, or nil.
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
if not head then redis.call('SREM', KEYS[2], ARGV[1]) end
return head
