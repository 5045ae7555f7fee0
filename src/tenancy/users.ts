// Users of a company, who log in for the VOD access APIs (SPEC 7). Passwords
// are kept only as scrypt hashes with a random salt. Usernames are unique
// across all companies and compared case-insensitively (after NFC), so
// "Alice" and "alice" cannot be two different people.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Context } from '../context.js';
import { companyExists } from './companies.js';

export const USER_ID = /^usr-[A-Za-z0-9]{20}$/;
const CONTROL = /\p{C}/u;
export const MAX_PASSWORD_LENGTH = 1024;

export interface User {
  id: string;
  client_id: number;
  username: string;
  created_at: string;
}

export class UserError extends Error {}

// N = 2^15 costs ~50-100 ms per hash: slow for a guesser, fine for a login.
const SCRYPT = { N: 1 << 15, r: 8, p: 1, keylen: 32 };
const SCRYPT_MAXMEM = 64 * 1024 * 1024;

function scrypt(password: string, salt: Buffer, params: { N: number; r: number; p: number; keylen: number }): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: SCRYPT_MAXMEM };
  return new Promise((resolve, reject) => {
    scryptCb(password.normalize('NFC'), salt, params.keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** `scrypt$N$r$p$salt$hash` (base64url), so the cost can be raised later without breaking old hashes. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const expected = Buffer.from(parts[5], 'base64url');
  const actual = await scrypt(password, Buffer.from(parts[4], 'base64url'), { N, r, p, keylen: expected.length });
  return timingSafeEqual(actual, expected);
}

// Hashing a password for a username that does not exist takes as long as a
// real check, so response time does not tell which usernames exist.
let dummyHash: Promise<string> | undefined;

export function normalizeUsername(username: string): string {
  return username.normalize('NFC').toLowerCase();
}

export async function createUser(ctx: Context, clientId: number, username: string, password: string): Promise<User> {
  if (username.length < 1 || username.length > 200 || username !== username.trim() || CONTROL.test(username)) {
    throw new UserError('username must be 1-200 printable characters, not starting or ending with a space');
  }
  if (password.length < 8 || password.length > MAX_PASSWORD_LENGTH) {
    throw new UserError(`password must be 8-${MAX_PASSWORD_LENGTH} characters`);
  }
  if (!(await companyExists(ctx, clientId))) throw new UserError(`company ${clientId} does not exist`);
  const user: User = {
    id: `usr-${randomId(20)}`,
    client_id: clientId,
    username,
    created_at: new Date(ctx.clock.now()).toISOString(),
  };
  const password_hash = await hashPassword(password);
  // The user record is written before the name is claimed: a login that
  // finds the name always finds the record. A lost race leaves nothing.
  await ctx.redis.hset(ctx.keys.user(user.id), {
    client_id: String(clientId), username, password: password_hash, created_at: user.created_at,
  });
  const claimed = await ctx.redis.hsetnx(ctx.keys.users, normalizeUsername(username), user.id);
  if (claimed !== 1) {
    await ctx.redis.del(ctx.keys.user(user.id));
    throw new UserError(`username "${username}" is taken`);
  }
  ctx.log.info({ user_id: user.id, client_id: clientId }, 'user created');
  return user;
}

export async function findUser(ctx: Context, userId: string): Promise<User | null> {
  if (!USER_ID.test(userId)) return null;
  const h = await ctx.redis.hgetall(ctx.keys.user(userId));
  if (!h.client_id) return null;
  return { id: userId, client_id: Number(h.client_id), username: h.username, created_at: h.created_at };
}

/** Deletes the user; tokens already issued stop working on their next use. */
export async function deleteUser(ctx: Context, userId: string): Promise<boolean> {
  const user = await findUser(ctx, userId);
  if (!user) return false;
  await ctx.redis.del(ctx.keys.user(userId));
  // Only release the name if it still points at this user.
  const name = normalizeUsername(user.username);
  if ((await ctx.redis.hget(ctx.keys.users, name)) === userId) await ctx.redis.hdel(ctx.keys.users, name);
  ctx.log.info({ user_id: userId, client_id: user.client_id }, 'user deleted');
  return true;
}

/** The user these credentials belong to, or null. Always costs one scrypt. */
export async function checkCredentials(ctx: Context, username: string, password: string): Promise<User | null> {
  const userId = await ctx.redis.hget(ctx.keys.users, normalizeUsername(username));
  const h = userId ? await ctx.redis.hgetall(ctx.keys.user(userId)) : {};
  if (!userId || !h.password) {
    dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
    await verifyPassword(password, await dummyHash);
    return null;
  }
  if (!(await verifyPassword(password, h.password))) return null;
  return { id: userId, client_id: Number(h.client_id), username: h.username, created_at: h.created_at };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniform random characters of [A-Za-z0-9] (rejection sampling, no modulo bias). */
export function randomId(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}
