// Webhook endpoints of a company: where its events go, which ones, and the
// secret they are signed with. One hash per endpoint under its own hash tag
// (events/keys.ts); the company's set lists them. Another company's endpoint
// answers exactly as a missing one.
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import { checkResolves, parseWebhookUrl } from './address.js';
import { eventKeys } from './keys.js';
import { newSecret } from './signing.js';
import { EVENT_TYPES, type EventType } from './types.js';

export const ENDPOINT_ID_PATTERN = '^ep_[a-z0-9]{20}$';
const ENDPOINT_ID = new RegExp(ENDPOINT_ID_PATTERN);
export const MAX_ENDPOINTS_PER_COMPANY = 20;
/** A rotated secret keeps signing beside the new one this long, so receivers can switch without losing events. */
const OLD_SECRET_MS = 24 * 3600 * 1000;

export interface Endpoint {
  id: string;
  client_id: number;
  url: string;
  events: EventType[];
  secret: string;
  old_secret: string | null;
  old_secret_until: number;
  enabled: boolean;
  disabled_reason: string | null;
  /** ms: the first failure since the last success */
  failing_since: number | null;
  created_at: string;
}

export interface EndpointView {
  id: string;
  url: string;
  events: EventType[];
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: string | null;
  created_at: string;
}

export class EndpointInputError extends Error {}

export function parseEndpoint(raw: Record<string, string>): Endpoint | null {
  if (!raw.id) return null;
  return {
    id: raw.id,
    client_id: Number(raw.client_id),
    url: raw.url,
    events: JSON.parse(raw.events ?? '[]'),
    secret: raw.secret,
    old_secret: raw.old_secret || null,
    old_secret_until: Number(raw.old_secret_until ?? 0),
    enabled: raw.enabled !== '0',
    disabled_reason: raw.disabled_reason || null,
    failing_since: raw.failing_since ? Number(raw.failing_since) : null,
    created_at: raw.created_at,
  };
}

export function viewEndpoint(ep: Endpoint): EndpointView {
  return {
    id: ep.id,
    url: ep.url,
    events: ep.events,
    enabled: ep.enabled,
    disabled_reason: ep.disabled_reason,
    failing_since: ep.failing_since ? new Date(ep.failing_since).toISOString() : null,
    created_at: ep.created_at,
  };
}

/** The secrets a message is signed with now: the current one, and a rotated one still honoured. */
export function signingSecrets(ep: Endpoint, nowMs: number): string[] {
  return ep.old_secret && ep.old_secret_until > nowMs ? [ep.secret, ep.old_secret] : [ep.secret];
}

export function checkEvents(events: string[] | undefined): EventType[] {
  if (events === undefined) return [...EVENT_TYPES];
  const unknown = events.filter((e) => !(EVENT_TYPES as readonly string[]).includes(e));
  if (unknown.length > 0) throw new EndpointInputError(`unknown event ${unknown.map((e) => `"${e}"`).join(', ')}: events are ${EVENT_TYPES.join(', ')}`);
  if (events.length === 0) throw new EndpointInputError('events must name at least one event (omit it for all)');
  return [...new Set(events)] as EventType[];
}

async function checkUrl(ctx: Context, raw: string): Promise<string> {
  const url = parseWebhookUrl(raw, ctx.config.webhookAllowPrivate);
  await checkResolves(url, ctx.config.webhookAllowPrivate);
  return url.toString();
}

export async function loadEndpoint(ctx: Context, endpointId: string): Promise<Endpoint | null> {
  if (!ENDPOINT_ID.test(endpointId)) return null;
  return parseEndpoint(await ctx.redis.hgetall(eventKeys(ctx.keys).endpoint(endpointId)));
}

export async function findEndpoint(ctx: Context, clientId: number, endpointId: string): Promise<Endpoint | null> {
  const ep = await loadEndpoint(ctx, endpointId);
  return ep && ep.client_id === clientId ? ep : null;
}

export async function listEndpoints(ctx: Context, clientId: number): Promise<Endpoint[]> {
  const ids = await ctx.redis.smembers(eventKeys(ctx.keys).companyEndpoints(clientId));
  const found = await Promise.all(ids.sort().map((id) => loadEndpoint(ctx, id)));
  return found.filter((ep): ep is Endpoint => ep !== null && ep.client_id === clientId);
}

export async function createEndpoint(ctx: Context, clientId: number, input: { url: string; events?: string[] }): Promise<Endpoint> {
  const events = checkEvents(input.events);
  const url = await checkUrl(ctx, input.url);
  const k = eventKeys(ctx.keys);
  if ((await ctx.redis.scard(k.companyEndpoints(clientId))) >= MAX_ENDPOINTS_PER_COMPANY) {
    throw new EndpointInputError(`a company has at most ${MAX_ENDPOINTS_PER_COMPANY} webhook endpoints`);
  }
  const id = `ep_${randomId(20)}`;
  const record = {
    id, client_id: String(clientId), url, events: JSON.stringify(events), secret: newSecret(),
    enabled: '1', created_at: new Date(ctx.clock.now()).toISOString(),
  };
  // The record first: a set member never points at a missing endpoint.
  await ctx.redis.hset(k.endpoint(id), record);
  await ctx.redis.sadd(k.companyEndpoints(clientId), id);
  await ctx.redis.sadd(k.endpoints, id);
  ctx.log.info({ endpoint_id: id, client_id: clientId }, 'webhook endpoint created');
  return parseEndpoint(record)!;
}

export interface EndpointPatch {
  url?: string;
  events?: string[];
  enabled?: boolean;
}

/** Re-enabling clears the failure record; the caller resumes the paused chains. */
export async function updateEndpoint(ctx: Context, ep: Endpoint, patch: EndpointPatch): Promise<Endpoint> {
  const fields: Record<string, string> = {};
  if (patch.events !== undefined) fields.events = JSON.stringify(checkEvents(patch.events));
  if (patch.url !== undefined) fields.url = await checkUrl(ctx, patch.url);
  const key = eventKeys(ctx.keys).endpoint(ep.id);
  if (patch.enabled === true) {
    fields.enabled = '1';
    await ctx.redis.hdel(key, 'disabled_reason', 'failing_since');
  } else if (patch.enabled === false) {
    fields.enabled = '0';
    fields.disabled_reason = 'disabled by request';
  }
  if (Object.keys(fields).length > 0) await ctx.redis.hset(key, fields);
  return (await loadEndpoint(ctx, ep.id)) ?? ep;
}

export async function rotateSecret(ctx: Context, ep: Endpoint): Promise<Endpoint> {
  await ctx.redis.hset(eventKeys(ctx.keys).endpoint(ep.id), {
    secret: newSecret(), old_secret: ep.secret, old_secret_until: String(ctx.clock.now() + OLD_SECRET_MS),
  });
  return (await loadEndpoint(ctx, ep.id)) ?? ep;
}

/** After a failed attempt: notes when failing began, and disables the endpoint once that is too long ago. */
export async function noteFailure(ctx: Context, ep: Endpoint, error: string): Promise<boolean> {
  const key = eventKeys(ctx.keys).endpoint(ep.id);
  const now = Date.now();
  await ctx.redis.hsetnx(key, 'failing_since', String(now));
  const since = Number((await ctx.redis.hget(key, 'failing_since')) ?? now);
  if (now - since < ctx.config.webhookDisableAfterSeconds * 1000) return false;
  const reason = `disabled automatically: every delivery failed since ${new Date(since).toISOString()} (last: ${error.slice(0, 200)})`;
  await ctx.redis.hset(key, { enabled: '0', disabled_reason: reason });
  ctx.log.warn({ endpoint_id: ep.id, client_id: ep.client_id }, 'webhook endpoint disabled after failing too long');
  return true;
}

export async function noteSuccess(ctx: Context, ep: Endpoint): Promise<void> {
  if (ep.failing_since !== null) await ctx.redis.hdel(eventKeys(ctx.keys).endpoint(ep.id), 'failing_since');
}

/** Unlisted first, then its chains, events and log go; jobs still queued for it find it gone. */
export async function deleteEndpoint(ctx: Context, ep: Endpoint): Promise<void> {
  const k = eventKeys(ctx.keys);
  await ctx.redis.srem(k.companyEndpoints(ep.client_id), ep.id);
  await ctx.redis.srem(k.endpoints, ep.id);
  const objects = await ctx.redis.smembers(k.chains(ep.id));
  const keys = [...objects.map((o) => k.chain(ep.id, o)), k.chains(ep.id), k.events(ep.id), k.chainSeq(ep.id), k.log(ep.id), k.endpoint(ep.id)];
  // One slot ({w:id}), so one DEL is legal on a Cluster too.
  for (let i = 0; i < keys.length; i += 500) await ctx.redis.del(...keys.slice(i, i + 500));
  ctx.log.info({ endpoint_id: ep.id, client_id: ep.client_id }, 'webhook endpoint deleted');
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
function randomId(length: number): string {
  let id = '';
  while (id.length < length) for (const b of randomBytes(length * 2)) if (b < 252 && id.length < length) id += ALPHABET[b % 36];
  return id;
}
