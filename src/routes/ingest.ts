// /ingest/{stream_key}/{file}: HLS pushed by an encoder with PUT or POST.
// The stream key is checked before the body is read, so an unknown key costs
// nothing; bodies are capped while they stream in (ffmpeg sends chunked
// requests with no Content-Length).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { ingestChunk, ingestPlaylist, streamForIngestKey } from '../dvr/ingest.js';
import type { StreamRecord } from '../dvr/streams.js';
import { sniffUpload } from '../dvr/fmp4.js';
import { storeInit } from '../dvr/init-segments.js';
import { errorBody, HttpError } from './errors.js';
import { UPLOAD_RETRY_AFTER_SECONDS, UploadSlots } from './slow-clients.js';

declare module 'fastify' {
  interface FastifyRequest {
    ingestStream?: StreamRecord;
  }
}

const FILE = /^[A-Za-z0-9._-]{1,200}$/;
const CHUNK_EXT = /\.ts$/;
type IngestRequest = FastifyRequest<{ Params: { key: string; file: string }; Body: Buffer }>;

export async function ingestRoutes(app: FastifyInstance, { ctx }: { ctx: Context }): Promise<void> {
  // Whatever the encoder calls its content type, the body is raw bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ctx.config.maxChunkBytes }, (_req, body, done) => done(null, body));

  const uploads = new UploadSlots(ctx.config.maxUploadsPerStream, ctx.config.maxUploads);
  app.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const { key, file } = request.params as { key: string; file: string };
    if (!FILE.test(file)) throw new HttpError(400, 'file name must be a plain name of [A-Za-z0-9._-]');
    const stream = await streamForIngestKey(ctx, key);
    if (!stream) throw new HttpError(404, 'unknown stream key: use the push_url_hls of an existing stream');
    // Before the body is read: nothing of a refused upload is stored.
    if (!stream.active && request.method !== 'DELETE') {
      throw new HttpError(403, 'stream is not active (active: false): set active to true to push to it');
    }
    request.ingestStream = stream;
    if (request.method === 'DELETE') return;
    // Each upload is buffered whole: their number bounds the memory they take.
    const release = uploads.acquire(stream.id);
    if (!release) {
      return reply.status(503).header('retry-after', String(UPLOAD_RETRY_AFTER_SECONDS))
        .send(errorBody(503, 'too many uploads in flight for this stream or this server: retry shortly'));
    }
    reply.raw.once('close', release);
  });

  const receive = async (request: IngestRequest, reply: import('fastify').FastifyReply) => {
    const stream = request.ingestStream!;
    const { file } = request.params;
    const body = request.body ?? Buffer.alloc(0);
    if (file.endsWith('.m3u8')) {
      if (body.length > ctx.config.maxPlaylistBytes) throw new HttpError(413, `playlist over ${ctx.config.maxPlaylistBytes} bytes`);
      await ingestPlaylist(ctx, stream, file, body.toString('utf8'));
    } else if (CHUNK_EXT.test(file)) {
      if (body.length === 0) throw new HttpError(400, 'empty chunk');
      await ingestChunk(ctx, stream, file, body);
    } else {
      // fMP4/CMAF: the bytes say whether this is an init segment (EXT-X-MAP)
      // or a media segment, whatever the encoder named it (.mp4, .m4s, .cmfv).
      const kind = sniffUpload(body);
      if (kind === 'init') await storeInit(ctx, stream.id, file, body);
      else if (kind === 'fmp4' || kind === 'ts') await ingestChunk(ctx, stream, file, body, kind);
      else throw new HttpError(415, `${file} is neither an MPEG-TS chunk, an fMP4 media segment (styp/moof) nor an fMP4 init segment (ftyp+moov)`);
    }
    return reply.status(204).send();
  };
  // An encoder sends several requests a second: their access lines would
  // drown everything else, so only problems are logged (and metrics count).
  const opts = { bodyLimit: ctx.config.maxChunkBytes, schema: { hide: true }, logLevel: 'warn' as const };
  app.put('/ingest/:key/:file', opts, receive);
  app.post('/ingest/:key/:file', opts, receive);
  // The window decides what is kept, not the encoder's deletions.
  app.delete('/ingest/:key/:file', { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) => reply.status(204).send());
}
