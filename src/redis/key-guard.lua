-- Prepended to every script while DVR_LUA_KEY_GUARD=1 (the test suite sets
-- it; see key-guard.ts): a script touching a key it did not name in KEYS
-- fails at once, as a strict Redis Cluster proxy or a slot migration would
-- make it fail in production. A local `redis` shadows the global one.
local redis = (function(real)
  local declared = {}
  for _, k in ipairs(KEYS) do declared[k] = true end
  -- Which arguments of a command are keys (first-argument commands are the rest).
  local function keys_of(name, args)
    if name == 'TIME' then return {} end
    if name == 'DEL' or name == 'EXISTS' or name == 'UNLINK' or name == 'MGET' then return args end
    if name == 'RENAME' then return { args[1], args[2] } end
    if name == 'ZUNIONSTORE' or name == 'ZINTERSTORE' then
      local out = { args[1] }
      for i = 1, tonumber(args[2]) do out[#out + 1] = args[2 + i] end
      return out
    end
    return { args[1] }
  end
  local function check(cmd, ...)
    local name = string.upper(cmd)
    for _, k in ipairs(keys_of(name, { ... })) do
      if not declared[k] then error('undeclared key ' .. tostring(k) .. ' in ' .. name, 3) end
    end
  end
  return setmetatable({
    call = function(cmd, ...) check(cmd, ...); return real.call(cmd, ...) end,
    pcall = function(cmd, ...) check(cmd, ...); return real.pcall(cmd, ...) end,
  }, { __index = real })
end)(redis)
