// Public playback: /rec/{c}_{s}/... for clips (the clip id is the secret)
// and /live/{c}_{s}/... for a stream's DVR window. Any web page may load them.
import cors from '@fastify/cors';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Context } from '../context.js';
import { CHUNK_ID } from '../dvr/chunk-ref.js';
import { idFragment } from '../ids.js';
import { ClipHls } from '../hls/clip-hls.js';
import { liveChunk, liveMaster, liveMedia } from '../hls/live-hls.js';

const { clip, numeric, rendition } = idFragment;
const OWNER = new RegExp(`^(${numeric})_(${numeric})$`);
const CLIP_PLAYLIST = new RegExp(`^rec_(${clip})_(master|${rendition})\\.(m3u8|mp4)$`);
const CLIP_CHUNK = new RegExp(`^rec_(${clip})_([0-9a-z]{1,13})\\.ts$`);
const LIVE_FILE = new RegExp(`^(master|${rendition})\\.m3u8$`);
const LIVE_CHUNK = /^([0-9a-z]{1,13})\.ts$/;
const PLAY_KEY = /^[A-Za-z0-9_-]{16}$/;

export const CACHE_FOREVER = 'public, max-age=31536000, immutable';
export const CACHE_FINAL_PLAYLIST = 'public, max-age=86400';
export const CACHE_CHANGING = 'public, max-age=1';
const M3U8 = 'application/vnd.apple.mpegurl';

export type Mp4Handler = (
  reply: FastifyReply, owner: { clientId: number; streamId: number }, clipId: string, which: string, query: Record<string, string>, range?: string,
) => Promise<FastifyReply>;

/** `{client}_{stream}` of a playback URL. */
function ownerOf(segment: string): { clientId: number; streamId: number } | null {
  const owner = OWNER.exec(segment);
  return owner ? { clientId: Number(owner[1]), streamId: Number(owner[2]) } : null;
}

function sendChunk(reply: FastifyReply, bytes: Buffer | null, cacheControl: string | null = CACHE_FOREVER): FastifyReply {
  if (!bytes) return notFound(reply);
  return reply.header('content-type', 'video/mp2t').header('cache-control', cacheControl ?? CACHE_FOREVER).send(bytes);
}

/** Long-lived, but never past the clip's expiration: then it must answer 404. */
function cacheUntil(expiration: number, nowMs: number, immutable: boolean): string {
  const seconds = Math.max(0, Math.min(31536000, Math.floor(expiration - nowMs / 1000)));
  return `public, max-age=${seconds}${immutable ? ', immutable' : ''}`;
}

function notFound(reply: FastifyReply): FastifyReply {
  return reply.status(404).header('cache-control', 'no-store').send({ message: 'Not found: the clip does not exist or has expired' });
}

export async function playbackRoutes(
  app: FastifyInstance, { ctx, mp4 }: { ctx: Context; mp4?: Mp4Handler },
): Promise<void> {
  await app.register(cors, { origin: '*', methods: ['GET', 'HEAD', 'OPTIONS'], exposedHeaders: ['Content-Length', 'Content-Range', 'Content-Disposition', 'Accept-Ranges', 'ETag', 'Retry-After'] });
  const clips = new ClipHls(ctx);
  const schema = { hide: true };
  // Viewer traffic is the busiest path of all: access lines only for problems.
  const logLevel = 'warn' as const;

  app.get<{ Params: { owner: string; file: string }; Querystring: Record<string, string> }>('/rec/:owner/:file', { schema, logLevel }, async (request, reply) => {
    const owner = ownerOf(request.params.owner);
    if (!owner) return notFound(reply);
    const { clientId, streamId } = owner;
    const file = request.params.file;
    const chunk = CLIP_CHUNK.exec(file);
    if (chunk) {
      const served = await clips.chunk(clientId, streamId, chunk[1], chunk[2]);
      return sendChunk(reply, served?.bytes ?? null, served && cacheUntil(served.expiration, ctx.clock.now(), true));
    }
    const named = CLIP_PLAYLIST.exec(file);
    if (!named) return notFound(reply);
    const [, clipId, which, ext] = named;
    if (ext === 'mp4') {
      if (!mp4) return reply.status(501).send({ message: 'MP4 is not available on this server' });
      return mp4(reply, { clientId, streamId }, clipId, which, request.query, request.headers.range);
    }
    const playlist = await clips.playlist(clientId, streamId, clipId, which);
    if (!playlist) return notFound(reply);
    return reply
      .header('content-type', M3U8)
      .header('cache-control', playlist.final ? cacheUntil(playlist.expiration, ctx.clock.now(), false) : CACHE_CHANGING)
      .send(playlist.body);
  });

  app.get<{ Params: { owner: string; key: string; file: string } }>('/live/:owner/:key/:file', { schema, logLevel }, async (request, reply) => {
    const owner = ownerOf(request.params.owner);
    const key = request.params.key;
    if (!owner || !PLAY_KEY.test(key)) return notFound(reply);
    const { clientId, streamId } = owner;
    const file = request.params.file;
    const chunk = LIVE_CHUNK.exec(file);
    if (chunk && CHUNK_ID.test(chunk[1])) return sendChunk(reply, await liveChunk(ctx, clientId, streamId, key, chunk[1]));
    const playlist = LIVE_FILE.exec(file);
    if (!playlist) return notFound(reply);
    const body = playlist[1] === 'master'
      ? await liveMaster(ctx, clientId, streamId, key)
      : await liveMedia(ctx, clientId, streamId, key, playlist[1]);
    if (body === null) return notFound(reply);
    return reply.header('content-type', M3U8).header('cache-control', CACHE_CHANGING).send(body);
  });
}
