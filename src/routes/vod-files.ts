// Public VOD playback: /vod/{video_id}/{secret}/… serves a ready VOD's master
// and media playlists, chunks and MP4s straight from VOD storage (streamed,
// never read whole; single byte ranges). The secret in the path is the only
// key, as the clip id is for clips; any web page may load these.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Context } from '../context.js';
import { idFragment, NUMERIC_ID, RENDITION_NAME } from '../ids.js';
import { contentDisposition } from '../mp4/http-rules.js';
import { sendRange } from '../util/send-range.js';
import { vodLayout } from '../vod/layout.js';
import { vodStorage, type VodStorage } from '../vod/storage.js';
import { CACHE_FINAL_PLAYLIST, CACHE_FOREVER } from './playback.js';

const SECRET = /^[A-Za-z0-9]{24}$/;
const TOP_FILE = new RegExp(`^(master|${idFragment.rendition})\\.(m3u8|mp4)$`);
const CHUNK = /^([0-9]{5,9})\.(ts|m4s)$/;
const INIT = /^init_([0-9a-f]{16})\.mp4$/;
const TYPES: Record<string, string> = { m3u8: 'application/vnd.apple.mpegurl', mp4: 'video/mp4', ts: 'video/mp2t', m4s: 'video/mp4' };

type FileParams = { video_id: string; secret: string; file: string };
type ChunkParams = FileParams & { rendition: string };

function fail(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.status(status).removeHeader('content-disposition').removeHeader('last-modified')
    .type('application/json; charset=utf-8').header('cache-control', 'no-store').send({ message });
}

const notFound = (reply: FastifyReply) => fail(reply, 404, 'Not found: no such video file, or the video is not ready');

/** The storage path a request names, or null when the path is not one of ours. */
function storagePath(params: FileParams | ChunkParams): string | null {
  const videoId = Number(params.video_id);
  if ('rendition' in params) {
    if (!RENDITION_NAME.test(params.rendition)) return null;
    const init = INIT.exec(params.file);
    if (init) return vodLayout.init(videoId, params.rendition, init[1]);
    const chunk = CHUNK.exec(params.file);
    if (!chunk) return null;
    return vodLayout.chunk(videoId, params.rendition, Number(chunk[1]), chunk[2] as 'ts' | 'm4s');
  }
  const top = TOP_FILE.exec(params.file);
  if (!top) return null;
  if (top[1] === 'master') return top[2] === 'm3u8' ? vodLayout.master(videoId) : null;
  return top[2] === 'm3u8' ? vodLayout.mediaPlaylist(videoId, top[1]) : vodLayout.mp4(videoId, top[1]);
}

async function readyWithSecret(ctx: Context, videoId: string, secret: string): Promise<boolean> {
  const [stored, status] = await ctx.redis.hmget(ctx.keys.video(Number(videoId)), 'secret', 'status');
  if (!stored || status !== 'ready' || stored.length !== secret.length) return false;
  return timingSafeEqual(Buffer.from(stored), Buffer.from(secret));
}

export async function vodFileRoutes(app: FastifyInstance, { ctx }: { ctx: Context }): Promise<void> {
  const storage: VodStorage = vodStorage(ctx.config);
  // Preflight is answered by the CORS plugin of the playback routes (its
  // OPTIONS route matches every path); the responses need the header too.
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('access-control-allow-origin', '*').header('access-control-expose-headers', 'Content-Length, Content-Range');
  });

  const serve = async (request: { params: FileParams | ChunkParams; headers: { range?: string }; query: unknown }, reply: FastifyReply) => {
    const { params } = request;
    const file = NUMERIC_ID.test(params.video_id) && SECRET.test(params.secret) ? storagePath(params) : null;
    if (!file || !(await readyWithSecret(ctx, params.video_id, params.secret))) return notFound(reply);
    const stored = await storage.stat(file);
    if (!stored) return notFound(reply);
    const ext = file.slice(file.lastIndexOf('.') + 1);
    reply
      .header('content-type', TYPES[ext])
      .header('accept-ranges', 'bytes')
      .header('cache-control', ext === 'm3u8' ? CACHE_FINAL_PLAYLIST : CACHE_FOREVER)
      .header('last-modified', new Date(stored.mtimeMs).toUTCString());
    if (ext === 'mp4') {
      const disposition = contentDisposition((request.query as { filename?: unknown }).filename);
      if (!disposition.ok) return fail(reply, 400, disposition.message);
      if (disposition.disposition) reply.header('content-disposition', disposition.disposition);
    }
    return sendRange(reply, stored.size, request.headers.range, {
      body: (range) => storage.createReadStream(file, range),
      unsatisfiable: (r) => fail(r, 416, 'Range Not Satisfiable'),
    });
  };

  // The secret is in the path: access lines (which would log it) only for
  // problems, as for the other playback routes.
  const opts = { schema: { hide: true }, logLevel: 'warn' as const };
  app.get<{ Params: FileParams }>('/vod/:video_id/:secret/:file', opts, serve);
  app.get<{ Params: ChunkParams }>('/vod/:video_id/:secret/:rendition/:file', opts, serve);
}
