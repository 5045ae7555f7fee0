// Pulls one stream from its HLS origin into the DVR: the master playlist's
// every rendition (or one media playlist), each chunk fetched once and fed to
// the same ingest functions the HTTP push uses, under names that depend only
// on the origin's chunk (so a puller that takes over re-lists, it does not
// duplicate), program date times kept. Errors are retried with backoff,
// round-robin over the uri's URLs, and shown on the stream (pull_error).
import { createHash } from 'node:crypto';
import { Parser } from 'm3u8-parser';
import type { Context } from '../context.js';
import { ingestChunk, ingestPlaylist } from '../dvr/ingest.js';
import type { StreamRecord } from '../dvr/streams.js';
import { metrics } from '../metrics.js';
import { fetchOrigin, OriginError, pullUrls } from './pull-origin.js';
import { markSource, setStreamError } from './stream-state.js';

const MAX_BACKOFF_MS = 30_000;
/** A chunk that fails this many times running is given up (the origin lost it). */
const CHUNK_ATTEMPTS = 3;

interface OriginSegment {
  uri: string;
  duration: number;
  discontinuity?: boolean;
  dateTimeString?: string;
  map?: unknown;
}

interface RenditionState {
  name: string;
  url: URL;
  /** Highest origin sequence fed (or given up), -1 before the first. */
  done: number;
  /** origin chunk URL -> attempts that failed */
  failures: Map<string, number>;
  /** A restart of the origin seen: the next chunk fed opens a discontinuity. */
  restart: boolean;
}

function parse(text: string) {
  if (!/^\uFEFF?\s*#EXTM3U/.test(text)) throw new OriginError('origin answered something that is not an HLS playlist');
  const parser = new Parser();
  parser.push(text);
  parser.end();
  return parser.manifest as {
    playlists?: Array<{ uri: string; attributes: Record<string, unknown> }>;
    segments: OriginSegment[];
    mediaSequence?: number;
    targetDuration?: number;
  };
}

const localName = (rendition: string, seq: number, url: string) =>
  `${rendition}_${seq}_${createHash('sha1').update(url).digest('hex').slice(0, 10)}.ts`;

export class StreamPuller {
  private stopped = false;
  private urlIndex = 0;
  private backoff = 1000;
  private errorShown = '';
  private roundFailed = false;
  /** A chunk reached the DVR since the error was shown: only that clears it. */
  private fedSinceError = false;
  private readonly renditions = new Map<string, RenditionState>();
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  readonly finished: Promise<void>;

  constructor(private readonly ctx: Context, private readonly stream: StreamRecord, private readonly uri: string) {
    this.finished = this.run();
  }

  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    return this.finished;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  private async showError(message: string): Promise<void> {
    metrics.pullErrors.inc();
    this.roundFailed = true;
    this.fedSinceError = false;
    if (message === this.errorShown) return;
    this.errorShown = message;
    this.ctx.log.warn({ stream_id: this.stream.id, reason: message }, 'pull: origin error');
    await setStreamError(this.ctx, this.stream.id, 'pull_error', message);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let waitMs: number;
      try {
        this.roundFailed = false;
        waitMs = await this.poll();
        this.backoff = 1000;
        // Shown until a whole round went well and brought a chunk.
        if (this.errorShown && !this.roundFailed && this.fedSinceError && !this.stopped) {
          this.errorShown = '';
          await setStreamError(this.ctx, this.stream.id, 'pull_error', '');
        }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        await this.showError(message).catch(() => undefined);
        // The next of the uri's URLs, after a doubling pause.
        this.urlIndex++;
        this.renditions.clear();
        waitMs = this.backoff;
        this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
      }
      if (!this.stopped) await this.sleep(waitMs);
    }
  }

  private fetchText(url: URL, what: string) {
    return fetchOrigin(url, { allowPrivate: this.ctx.config.pullAllowPrivate, maxBytes: this.ctx.config.maxPlaylistBytes, what });
  }

  /** One round: (re)read the master if needed, then every rendition. Returns how long to wait. */
  private async poll(): Promise<number> {
    if (this.renditions.size === 0) await this.discover();
    let target = 2;
    for (const state of this.renditions.values()) {
      if (this.stopped) break;
      target = Math.min(target, await this.pollRendition(state));
    }
    // Half a target duration: a new chunk is seen soon after the origin lists it.
    return Math.max(250, Math.round(target * 500));
  }

  private async discover(): Promise<void> {
    const urls = pullUrls(this.uri);
    const url = urls[this.urlIndex % urls.length];
    const { url: finalUrl, body } = await this.fetchText(url, 'playlist');
    const manifest = parse(body.toString('utf8'));
    if (manifest.playlists && manifest.playlists.length > 0) {
      // Variants keep their origin order; the ingest names renditions by bandwidth.
      const lines = ['#EXTM3U'];
      manifest.playlists.forEach((variant, i) => {
        const name = `stream_${i}`;
        this.renditions.set(name, { name, url: new URL(variant.uri, finalUrl), done: -1, failures: new Map(), restart: false });
        const a = variant.attributes as { BANDWIDTH?: number; CODECS?: string; RESOLUTION?: { width: number; height: number } };
        const attrs = [`BANDWIDTH=${a.BANDWIDTH ?? 0}`];
        if (a.RESOLUTION) attrs.push(`RESOLUTION=${a.RESOLUTION.width}x${a.RESOLUTION.height}`);
        if (a.CODECS) attrs.push(`CODECS="${a.CODECS}"`);
        lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, `${name}.m3u8`);
      });
      await ingestPlaylist(this.ctx, this.stream, 'master.m3u8', lines.join('\n') + '\n');
    } else {
      this.renditions.set('stream_0', { name: 'stream_0', url: finalUrl, done: -1, failures: new Map(), restart: false });
    }
  }

  private async pollRendition(state: RenditionState): Promise<number> {
    const { body } = await this.fetchText(state.url, 'media playlist');
    const manifest = parse(body.toString('utf8'));
    if (manifest.playlists && manifest.playlists.length > 0) throw new OriginError('a variant of the master playlist is itself a master playlist');
    const first = manifest.mediaSequence ?? 0;
    const segments = manifest.segments;
    if (segments.some((s) => s.map)) throw new OriginError('the origin sends fMP4 chunks (EXT-X-MAP): only MPEG-TS chunks are pulled', true);
    const last = first + segments.length - 1;
    // The origin restarted (its numbering went back): start over after a discontinuity.
    if (state.done >= 0 && last < state.done) {
      state.done = -1;
      state.restart = true;
    }
    // Runs of chunks the DVR has (fed now or earlier), each sent as its own playlist:
    // a chunk given up splits them, so sequence numbers stay true.
    let run: string[] = [];
    let runStart = -1;
    let disc = false;
    const flush = async () => {
      if (run.length === 0) return;
      const target = Math.max(1, Math.ceil(manifest.targetDuration ?? 1));
      const text = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${target}`, `#EXT-X-MEDIA-SEQUENCE:${runStart}`, ...run].join('\n') + '\n';
      await ingestPlaylist(this.ctx, this.stream, `${state.name}.m3u8`, text);
      run = [];
    };
    for (let i = 0; i < segments.length && !this.stopped; i++) {
      const seq = first + i;
      const segment = segments[i];
      const url = new URL(segment.uri, state.url).href;
      const name = localName(state.name, seq, url);
      if (seq > state.done) {
        const fed = await this.feedChunk(state, url, name);
        if (fed === 'later') break; // retried on the next round, in order
        state.done = seq;
        if (fed === 'lost') {
          await flush();
          disc = true;
          continue;
        }
      }
      if (run.length === 0) runStart = seq;
      if (disc || segment.discontinuity || (state.restart && seq === first)) run.push('#EXT-X-DISCONTINUITY');
      if (segment.dateTimeString) run.push(`#EXT-X-PROGRAM-DATE-TIME:${segment.dateTimeString}`);
      run.push(`#EXTINF:${segment.duration.toFixed(3)},`, name);
      disc = false;
    }
    state.restart = false;
    await flush();
    return manifest.targetDuration ?? 2;
  }

  private async feedChunk(state: RenditionState, url: string, name: string): Promise<'fed' | 'later' | 'lost'> {
    try {
      const { body } = await fetchOrigin(new URL(url), { allowPrivate: this.ctx.config.pullAllowPrivate, maxBytes: this.ctx.config.maxChunkBytes, what: 'chunk' });
      if (body.length < 188 || body[0] !== 0x47) throw new OriginError(`chunk ${url} is not MPEG-TS`);
      await ingestChunk(this.ctx, this.stream, name, body);
      metrics.pullChunks.inc();
      this.fedSinceError = true;
      state.failures.delete(url);
      await markSource(this.ctx, this.stream.id, 'pull');
      return 'fed';
    } catch (err) {
      const attempts = (state.failures.get(url) ?? 0) + 1;
      state.failures.set(url, attempts);
      await this.showError((err as Error).message);
      if (attempts < CHUNK_ATTEMPTS) return 'later';
      state.failures.delete(url);
      this.ctx.log.warn({ stream_id: this.stream.id, url }, 'pull: chunk given up after retries');
      return 'lost';
    }
  }
}
