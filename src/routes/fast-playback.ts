// The busiest answer of the service, given before Fastify sees the request:
// a ready clip's playlist that this process holds in memory. Every viewer of
// a clip asks for it, and every edge cache revalidates it; Fastify's work per
// request (routing, hooks, a reply object) costs more than sending those few
// KB, so a request answerable from memory alone is answered here, with the
// very headers the route in playback.ts sends (playlistAnswer, the same CORS
// headers). Anything else (a miss, a query string, another method, an
// existence check due, a shutdown under way) goes on to Fastify unchanged.
import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { FastifyServerFactory } from 'fastify';
import type { Context } from '../context.js';
import { ClipHls } from '../hls/clip-hls.js';
import { fromMemory } from '../metrics.js';
import type { BuiltPlaylist } from '../hls/playlist-cache.js';
import { CLIP_PLAYLIST, PLAYBACK_EXPOSED_HEADERS, acceptsGzip, cacheUntil, ownerOf, playlistAnswer, type PlaylistAnswer } from './playback.js';

const CORS = { 'access-control-allow-origin': '*', 'access-control-expose-headers': PLAYBACK_EXPOSED_HEADERS.join(', ') };
const PREFIX = '/rec/';

export class PlaylistFastPath {
  private readonly clips: ClipHls;
  private closing = false;

  /** `headers`: sent on every answer besides (the answering process, in multi-process mode). */
  constructor(private readonly ctx: Context, private readonly headers: Record<string, string> = {}) {
    this.clips = new ClipHls(ctx);
  }

  private readonly made = new WeakMap<BuiltPlaylist, { second: number; expiration: number; plain: Record<string, string>; gzip: Record<string, string> }>();

  private cacheControl(expiration: number, now: number): string {
    return cacheUntil(expiration, now, this.ctx.config.edgeRevalidateSeconds);
  }

  private headersOf(answer: PlaylistAnswer): Record<string, string> {
    const out: Record<string, string> = { ...this.headers, ...CORS, ...answer.headers };
    if (answer.body) out['content-length'] = String(answer.body.length);
    return out;
  }

  private readyHeaders(built: BuiltPlaylist, expiration: number, now: number) {
    const second = Math.floor(now / 1000);
    const known = this.made.get(built);
    if (known && known.second === second && known.expiration === expiration) return known;
    const cacheControl = this.cacheControl(expiration, now);
    const fresh = {
      second, expiration,
      plain: this.headersOf(playlistAnswer({}, built, cacheControl, true)),
      gzip: this.headersOf(playlistAnswer({ 'accept-encoding': 'gzip' }, built, cacheControl, true)),
    };
    this.made.set(built, fresh);
    return fresh;
  }

  /** From now on every request goes to Fastify, which answers 503 while closing. */
  close(): void {
    this.closing = true;
  }

  /** True when the request was answered here. */
  answer(req: IncomingMessage, res: ServerResponse): boolean {
    const { method, url } = req;
    if (this.closing || (method !== 'GET' && method !== 'HEAD') || !url?.startsWith(PREFIX)) return false;
    // Encoded or with a query: Fastify decodes and routes it.
    if (url.includes('?') || url.includes('%')) return false;
    const slash = url.indexOf('/', PREFIX.length);
    const owner = slash > 0 ? ownerOf(url.slice(PREFIX.length, slash)) : null;
    const named = owner ? CLIP_PLAYLIST.exec(url.slice(slash + 1)) : null;
    if (!owner || !named || named[3] !== 'm3u8') return false;
    const served = this.clips.cachedFinal(owner.clientId, owner.streamId, named[1], named[2]);
    if (!served) return false;
    const now = this.ctx.clock.now();
    const revalidating = req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined;
    // The plain and gzip answers' headers change only with the second (max-age counts down): made once per second.
    const ready = revalidating ? null : this.readyHeaders(served.built, served.expiration, now);
    if (ready) {
      const gzip = acceptsGzip(req.headers['accept-encoding']);
      res.writeHead(200, gzip ? ready.gzip : ready.plain);
      res.end(method === 'HEAD' ? undefined : gzip ? served.built.gzip : served.built.text);
    } else {
      const answer = playlistAnswer(req.headers, served.built, this.cacheControl(served.expiration, now), true);
      res.writeHead(answer.status, this.headersOf(answer));
      res.end(method === 'HEAD' ? undefined : answer.body);
    }
    fromMemory.pending += 1;
    return true;
  }
}

/**
 * Fastify's HTTP/1 server (set up as Fastify sets up its own) with the fast
 * path in front of Fastify's handler.
 */
export function serverWithFastPath(fast: PlaylistFastPath): FastifyServerFactory {
  return (handler, options) => {
    const listener: RequestListener = (req, res) => {
      if (!fast.answer(req, res)) (handler as RequestListener)(req, res);
    };
    const opts = options as typeof options & { http?: http.ServerOptions; keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number; maxRequestsPerSocket?: number };
    const server = http.createServer(opts.http ?? {}, listener);
    if (opts.keepAliveTimeout !== undefined) server.keepAliveTimeout = opts.keepAliveTimeout;
    if (opts.requestTimeout !== undefined) server.requestTimeout = opts.requestTimeout;
    server.setTimeout(opts.connectionTimeout ?? 0);
    if ((opts.maxRequestsPerSocket ?? 0) > 0) server.maxRequestsPerSocket = opts.maxRequestsPerSocket!;
    return server;
  };
}
