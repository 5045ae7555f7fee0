// `Authorization: apikey KEY` (the scheme word in any case) for the
// management API. The company found is put on the request, and may reach
// only its own streams.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { findStream, type StreamRecord } from '../dvr/streams.js';
import { clientIdForApiKey } from '../tenancy/companies.js';
import { HttpError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    clientId: number;
  }
}

const SCHEME = /^apikey\s+(\S{1,200})\s*$/i;

export function apiKeyAuth(ctx: Context) {
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const header = request.headers.authorization;
    if (!header) throw new HttpError(401, 'missing Authorization header: send "Authorization: apikey YOUR_KEY"');
    const match = SCHEME.exec(header);
    if (!match) throw new HttpError(401, 'Authorization header must be "apikey YOUR_KEY"');
    const clientId = await clientIdForApiKey(ctx, match[1]);
    if (clientId === null) throw new HttpError(401, 'unknown API key');
    request.clientId = clientId;
  };
}

/** The company's stream of that id, or 404 (also for another company's stream). */
export async function ownStream(ctx: Context, clientId: number, streamId: string): Promise<StreamRecord> {
  const stream = await findStream(ctx, clientId, Number(streamId));
  if (!stream) throw new HttpError(404, `stream ${streamId} not found`);
  return stream;
}
