// Public playback: /rec/{c}_{s}/... for clips (the clip id is the secret)
// and /live/{c}_{s}/... for a stream's DVR window. Any web page may load them.
import cors from '@fastify/cors';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { CHUNK_ID } from '../dvr/chunk-ref.js';
import { idFragment } from '../ids.js';
import { ClipHls } from '../hls/clip-hls.js';
import { asksDelta, liveChunk, liveMaster, liveMedia } from '../hls/live-hls.js';
import { clipInit, liveInit } from '../hls/init-serve.js';
import type { BuiltPlaylist } from '../hls/playlist-cache.js';

const { clip, numeric, rendition } = idFragment;
const OWNER = new RegExp(`^(${numeric})_(${numeric})$`);
export const CLIP_PLAYLIST = new RegExp(`^rec_(${clip})_(master|${rendition})\\.(m3u8|mp4)$`);
const CLIP_CHUNK = new RegExp(`^rec_(${clip})_([0-9a-z]{1,13})\\.(?:ts|m4s)$`);
const CLIP_INIT = new RegExp(`^rec_(${clip})_init_([0-9a-f]{16})\\.mp4$`);
const LIVE_FILE = new RegExp(`^(master|${rendition})\\.m3u8$`);
const LIVE_CHUNK = /^([0-9a-z]{1,13})\.(?:ts|m4s)$/;
const LIVE_INIT = /^init_([0-9a-f]{16})\.mp4$/;
const PLAY_KEY = /^[A-Za-z0-9_-]{16}$/;

export const CACHE_FOREVER = 'public, max-age=31536000, immutable';
export const CACHE_FINAL_PLAYLIST = 'public, max-age=86400';
export const CACHE_CHANGING = 'public, max-age=1';
/** A 404 may be cached briefly: it protects the service from a flood of requests for a gone clip. */
export const CACHE_NOT_FOUND = 'public, max-age=2';
const M3U8 = 'application/vnd.apple.mpegurl';
/** Any web page may read these of a playback answer (CORS). */
export const PLAYBACK_EXPOSED_HEADERS = ['Content-Length', 'Content-Range', 'Content-Disposition', 'Accept-Ranges', 'ETag', 'Last-Modified', 'Retry-After'];
/** Chunks never change once stored: any date the client has is that version's. */
const CHUNK_LAST_MODIFIED = new Date(Math.floor(Date.now() / 1000) * 1000).toUTCString();

export type Mp4Handler = (
  reply: FastifyReply, owner: { clientId: number; streamId: number }, clipId: string, which: string, query: Record<string, string>, range?: string,
) => Promise<FastifyReply>;

/** `{client}_{stream}` of a playback URL. */
export function ownerOf(segment: string): { clientId: number; streamId: number } | null {
  const owner = OWNER.exec(segment);
  return owner ? { clientId: Number(owner[1]), streamId: Number(owner[2]) } : null;
}

/** RFC 9110 13.1.2: a weak comparison of If-None-Match against our tag ('*' matches any). */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/** Whether the client's copy (If-None-Match, else If-Modified-Since) is current. */
function fresh(headers: IncomingHttpHeaders, etag: string, lastModified: string | null): boolean {
  const inm = headers['if-none-match'];
  if (inm !== undefined) return matchesEtag(inm, etag);
  const ims = headers['if-modified-since'];
  if (!ims || lastModified === null) return false;
  const since = Date.parse(ims);
  return Number.isFinite(since) && since >= Date.parse(lastModified);
}

export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (!acceptEncoding) return false;
  for (const part of acceptEncoding.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  }
  return false;
}

/** `fmp4`: an fMP4 media or init segment (video/mp4), else an MPEG-TS chunk. */
function sendChunk(
  request: FastifyRequest, reply: FastifyReply, chunkId: string, bytes: Buffer | null, cacheControl: string = CACHE_FOREVER, fmp4 = false,
): FastifyReply {
  if (!bytes) return notFound(reply);
  const etag = `"${chunkId}"`;
  reply.header('cache-control', cacheControl).header('etag', etag).header('last-modified', CHUNK_LAST_MODIFIED);
  // Any date works for an immutable chunk: there is only one version of it
  // (and another process may have sent another Last-Modified for it).
  const inm = request.headers['if-none-match'];
  const current = inm !== undefined ? matchesEtag(inm, etag) : Number.isFinite(Date.parse(request.headers['if-modified-since'] ?? ''));
  if (current) return reply.status(304).send();
  return reply.header('content-type', fmp4 ? 'video/mp4' : 'video/mp2t').send(bytes);
}

/** A playlist answer: its status, headers and body (none for a 304); both paths of playlist serving send exactly this. */
export interface PlaylistAnswer {
  status: 200 | 304;
  headers: Record<string, string>;
  body?: Buffer;
}

/** The playlist as built once: 304 when the client has it, gzip when it takes it. */
export function playlistAnswer(headers: IncomingHttpHeaders, built: BuiltPlaylist, cacheControl: string, final: boolean): PlaylistAnswer {
  const out: Record<string, string> = { 'cache-control': cacheControl, etag: built.etag, vary: 'Accept-Encoding' };
  // A changing playlist may change twice within a second: its date would not tell.
  if (final) out['last-modified'] = built.lastModified;
  if (fresh(headers, built.etag, final ? built.lastModified : null)) return { status: 304, headers: out };
  out['content-type'] = M3U8;
  if (acceptsGzip(headers['accept-encoding'])) {
    out['content-encoding'] = 'gzip';
    return { status: 200, headers: out, body: built.gzip };
  }
  return { status: 200, headers: out, body: built.text };
}

function sendPlaylist(request: FastifyRequest, reply: FastifyReply, built: BuiltPlaylist, cacheControl: string, final: boolean): FastifyReply {
  const answer = playlistAnswer(request.headers, built, cacheControl, final);
  reply.headers(answer.headers).status(answer.status);
  return answer.body ? reply.send(answer.body) : reply.send();
}

/**
 * Long-lived, but never past the clip's expiration: then it must answer 404.
 * Shared caches (a CDN, nginx) keep it `edge` seconds (s-maxage) before they
 * ask again with a conditional request (a 304 costs the service one Redis
 * read and no bytes), so a clip deleted before its expiration stops playing
 * at the edge within that time.
 */
export function cacheUntil(expiration: number, nowMs: number, edge: number): string {
  const seconds = Math.max(0, Math.min(31536000, Math.floor(expiration - nowMs / 1000)));
  return `public, max-age=${seconds}, s-maxage=${Math.min(seconds, edge)}, immutable`;
}

function notFound(reply: FastifyReply): FastifyReply {
  return reply.status(404).header('cache-control', CACHE_NOT_FOUND).send({ message: 'Not found: the clip does not exist or has expired' });
}

export async function playbackRoutes(
  app: FastifyInstance, { ctx, mp4 }: { ctx: Context; mp4?: Mp4Handler },
): Promise<void> {
  await app.register(cors, { origin: '*', methods: ['GET', 'HEAD', 'OPTIONS'], exposedHeaders: PLAYBACK_EXPOSED_HEADERS });
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
      return sendChunk(request, reply, chunk[2], served?.bytes ?? null,
        served ? cacheUntil(served.expiration, ctx.clock.now(), ctx.config.edgeRevalidateSeconds) : undefined, file.endsWith('.m4s'));
    }
    const init = CLIP_INIT.exec(file);
    if (init) {
      const served = await clipInit(ctx, clientId, streamId, init[1], init[2]);
      return sendChunk(request, reply, init[2], served?.bytes ?? null,
        served ? cacheUntil(served.expiration, ctx.clock.now(), ctx.config.edgeRevalidateSeconds) : undefined, true);
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
    const cacheControl = playlist.final ? cacheUntil(playlist.expiration, ctx.clock.now(), ctx.config.edgeRevalidateSeconds) : CACHE_CHANGING;
    return sendPlaylist(request, reply, playlist.built, cacheControl, playlist.final);
  });

  app.get<{ Params: { owner: string; key: string; file: string }; Querystring: Record<string, unknown> }>('/live/:owner/:key/:file', { schema, logLevel }, async (request, reply) => {
    const owner = ownerOf(request.params.owner);
    const key = request.params.key;
    if (!owner || !PLAY_KEY.test(key)) return notFound(reply);
    const { clientId, streamId } = owner;
    const file = request.params.file;
    const chunk = LIVE_CHUNK.exec(file);
    if (chunk && CHUNK_ID.test(chunk[1])) {
      return sendChunk(request, reply, chunk[1], await liveChunk(ctx, clientId, streamId, key, chunk[1]), CACHE_FOREVER, file.endsWith('.m4s'));
    }
    const init = LIVE_INIT.exec(file);
    if (init) return sendChunk(request, reply, init[1], await liveInit(ctx, clientId, streamId, key, init[1]), CACHE_FOREVER, true);
    const playlist = LIVE_FILE.exec(file);
    if (!playlist) return notFound(reply);
    // A media playlist may answer with its delta update (`_HLS_skip`); a
    // multivariant one has none to give.
    const built = playlist[1] === 'master'
      ? await liveMaster(ctx, clientId, streamId, key)
      : await liveMedia(ctx, clientId, streamId, key, playlist[1], asksDelta(request.query._HLS_skip));
    if (built === null) return notFound(reply);
    return sendPlaylist(request, reply, built, CACHE_CHANGING, false);
  });
}
