// Slows down password guessing: at most N failed logins per username and M
// per client IP in a fixed window (LOGIN_FAILURE_WINDOW_SECONDS, counted from
// the first failure); past that, attempts are refused until the window ends.
// Never a permanent lockout.
//
// Every attempt is counted *before* its password is checked, atomically with
// the limit check, so a burst of parallel guesses cannot slip past the limit.
// A successful login takes back only its own count: logging in to one's own
// account never clears the failures someone else caused.
import { createHash } from 'node:crypto';
import type { Context } from '../context.js';

// KEYS: user counter, ip counter. ARGV: user max, ip max, window ms.
// Returns 0 when the attempt may go ahead, else the ms until it may.
const ACQUIRE = `
for i = 1, 2 do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= tonumber(ARGV[i]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then
      redis.call('PEXPIRE', KEYS[i], ARGV[3])
      ttl = tonumber(ARGV[3])
    end
    return ttl
  end
end
for i = 1, 2 do
  redis.call('INCR', KEYS[i])
  if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
return 0`;

const RELEASE = `
for i = 1, 2 do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n > 0 then redis.call('DECR', KEYS[i]) end
end
return 0`;

export type Attempt = { allowed: true; succeeded(): Promise<void> } | { allowed: false; retryAfterSeconds: number };

/** The failure counters of a (normalized) username and a client IP. */
export function failureCounterKeys(ctx: Context, username: string, ip: string): [string, string] {
  const user = createHash('sha256').update(username).digest('hex').slice(0, 32);
  return [ctx.keys.loginFailures('user', user), ctx.keys.loginFailures('ip', ip)];
}

/**
 * Counts one login attempt for this (normalized) username and IP, or refuses
 * it. Call succeeded() when the password was right.
 */
export async function beginLoginAttempt(ctx: Context, username: string, ip: string): Promise<Attempt> {
  const keys = failureCounterKeys(ctx, username, ip);
  const { loginMaxFailuresPerUser, loginMaxFailuresPerIp, loginFailureWindowSeconds } = ctx.config;
  const wait = Number(await ctx.redis.eval(
    ACQUIRE, 2, ...keys, loginMaxFailuresPerUser, loginMaxFailuresPerIp, loginFailureWindowSeconds * 1000,
  ));
  if (wait > 0) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)) };
  return {
    allowed: true,
    succeeded: async () => {
      await ctx.redis.eval(RELEASE, 2, ...keys);
    },
  };
}
