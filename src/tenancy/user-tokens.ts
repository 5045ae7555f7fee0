// User access tokens (SPEC 7.1): HS256 JWTs {sub: user id, client_id, iat,
// exp, typ: "user"}. The same token is the `user_token` of the segment API
// and the `access_token` of the records API.
//
// The secret is JWT_SECRET when set. Otherwise one random secret is made on
// first use and kept in Redis (SET NX), because Redis is the one thing every
// api process is guaranteed to share (DATA_DIR need not be). Losing that key
// (a Redis without persistence restarting) only logs everybody out.
import { randomBytes, webcrypto } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Context } from '../context.js';
import { Lru } from '../util/lru.js';
import { USER_ID, type User } from './users.js';

export interface UserClaims {
  userId: string;
  clientId: number;
}

const ALG = 'HS256';
const TYP = 'user';
/** Longer than any token we issue; anything longer is not worth parsing. */
const MAX_TOKEN_LENGTH = 2048;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

async function sharedSecret(ctx: Context): Promise<string> {
  const fresh = randomBytes(32).toString('base64url');
  await ctx.redis.set(ctx.keys.jwtSecret, fresh, 'NX');
  const secret = await ctx.redis.get(ctx.keys.jwtSecret);
  if (!secret) throw new Error('the JWT secret vanished from Redis right after it was stored');
  return secret;
}

// Tokens whose signature was checked, with their expiry: an app fetching
// segments one by one sends the same token many times, and a string once
// verified stays verified until it expires (the key never changes in a
// process). Only good tokens are kept, so garbage cannot crowd them out.
const VERIFIED_TOKENS = 10_000;

export class UserTokens {
  private readonly verified = new Lru<{ claims: UserClaims; exp: number }>(VERIFIED_TOKENS);

  private constructor(private readonly ctx: Context, private readonly key: webcrypto.CryptoKey) {}

  /** Resolves the secret once; the imported key is reused for every token. */
  static async load(ctx: Context): Promise<UserTokens> {
    const secret = ctx.config.jwtSecret || (await sharedSecret(ctx));
    const key = await webcrypto.subtle.importKey(
      'raw', Buffer.from(secret, 'utf8'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'],
    );
    return new UserTokens(ctx, key);
  }

  async issue(user: User): Promise<string> {
    const now = Math.floor(this.ctx.clock.now() / 1000);
    return new SignJWT({ client_id: user.client_id, typ: TYP })
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setSubject(user.id)
      .setIssuedAt(now)
      .setExpirationTime(now + this.ctx.config.jwtTtlSeconds)
      .sign(this.key);
  }

  /**
   * The claims of a well-formed, correctly signed, unexpired user token, or
   * null. Whether the user still exists is the caller's check (one Redis
   * EXISTS of keys.user(userId)), so a hot path can send it with its own lookup.
   */
  async verify(token: unknown): Promise<UserClaims | null> {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH || !JWT_SHAPE.test(token)) return null;
    const nowSeconds = Math.floor(this.ctx.clock.now() / 1000);
    const known = this.verified.get(token);
    if (known) {
      if (known.exp > nowSeconds) return known.claims;
      this.verified.delete(token);
      return null;
    }
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: [ALG],
        requiredClaims: ['sub', 'exp', 'iat'],
        currentDate: new Date(this.ctx.clock.now()),
      });
      const clientId = payload.client_id;
      if (payload.typ !== TYP || !USER_ID.test(payload.sub!)) return null;
      if (typeof clientId !== 'number' || !Number.isSafeInteger(clientId) || clientId < 1) return null;
      const claims = { userId: payload.sub!, clientId };
      this.verified.set(token, { claims, exp: payload.exp! });
      return claims;
    } catch {
      return null;
    }
  }

  /** verify() plus the check that the user was not deleted since. */
  async verifyLive(token: unknown): Promise<UserClaims | null> {
    const claims = await this.verify(token);
    if (!claims) return null;
    return (await this.ctx.redis.exists(this.ctx.keys.user(claims.userId))) === 1 ? claims : null;
  }
}
