// Companies ("clients") and their API keys. Keys are random and long, so a
// single SHA-256 is enough to store them safely: unlike passwords they
// cannot be guessed from a dictionary.
import { createHash, randomBytes } from 'node:crypto';
import type { Context } from '../context.js';

export interface Company {
  client_id: number;
  name: string;
  created_at: string;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export async function createCompany(ctx: Context, name: string): Promise<{ client_id: number; api_key: string }> {
  const clientId = await ctx.redis.incr(ctx.keys.companySeq);
  await ctx.redis.hset(ctx.keys.company(clientId), { name, created_at: new Date(ctx.clock.now()).toISOString() });
  const apiKey = await createApiKey(ctx, clientId);
  ctx.log.info({ client_id: clientId }, 'company created');
  return { client_id: clientId, api_key: apiKey };
}

export async function companyExists(ctx: Context, clientId: number): Promise<boolean> {
  return (await ctx.redis.exists(ctx.keys.company(clientId))) === 1;
}

export async function createApiKey(ctx: Context, clientId: number): Promise<string> {
  if (!(await companyExists(ctx, clientId))) throw new Error(`company ${clientId} does not exist`);
  const apiKey = `${clientId}$${randomBytes(24).toString('base64url')}`;
  await ctx.redis.hset(ctx.keys.apiKeys, hashApiKey(apiKey), String(clientId));
  return apiKey;
}

/** The company an API key belongs to, or null. */
export async function clientIdForApiKey(ctx: Context, apiKey: string): Promise<number | null> {
  const found = await ctx.redis.hget(ctx.keys.apiKeys, hashApiKey(apiKey));
  return found ? Number(found) : null;
}

export async function companyCount(ctx: Context): Promise<number> {
  return Number((await ctx.redis.get(ctx.keys.companySeq)) ?? 0);
}
