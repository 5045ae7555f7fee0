// Pulls one stream from its HLS origin into the DVR: the master playlist's
// every rendition (or one media playlist), each chunk fetched once and fed to
// the same ingest functions the HTTP push uses, under names that depend only
// on the origin's chunk (so a puller that takes over re-lists, it does not
// duplicate), program date times kept. Errors are retried with backoff,
// round-robin over the uri's URLs, and shown on the stream (pull_error).
import { createHash } from 'node:crypto';
import { Parser } from 'm3u8-parser';
import type { Context } from '../context.js';
import { sniffUpload } from '../dvr/fmp4.js';
import { ingestChunk, ingestPlaylist } from '../dvr/ingest.js';
import { storeInit } from '../dvr/init-segments.js';
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
  /** fMP4: the init segment (EXT-X-MAP) this chunk plays with. */
  map?: { uri?: string; byterange?: unknown };
  byterange?: unknown;
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
  /** fMP4: origin init segment URL -> the local name it was fed under. */
  inits?: Map<string, string>;
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

const urlHash = (url: string) => createHash('sha1').update(url).digest('hex').slice(0, 10);
const localName = (rendition: string, seq: number, url: string, fmp4: boolean) =>
  `${rendition}_${seq}_${urlHash(url)}.${fmp4 ? 'm4s' : 'ts'}`;
/** An init segment's local name depends only on its origin URL: fed once, and again after a takeover (stored once by content). */
const localInitName = (rendition: string, url: string) => `${rendition}_init_${urlHash(url)}.mp4`;

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
    if (segments.some((s) => s.byterange || s.map?.byterange)) {
      throw new OriginError('the origin serves chunks as byte ranges of a file (EXT-X-BYTERANGE): only whole-file chunks are pulled', true);
    }
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
    let runMap = '';
    let disc = false;
    const flush = async () => {
      if (run.length === 0) return;
      const target = Math.max(1, Math.ceil(manifest.targetDuration ?? 1));
      const version = runMap ? 7 : 3;
      const text = ['#EXTM3U', `#EXT-X-VERSION:${version}`, `#EXT-X-TARGETDURATION:${target}`, `#EXT-X-MEDIA-SEQUENCE:${runStart}`, ...run].join('\n') + '\n';
      await ingestPlaylist(this.ctx, this.stream, `${state.name}.m3u8`, text);
      run = [];
      runMap = '';
    };
    for (let i = 0; i < segments.length && !this.stopped; i++) {
      const seq = first + i;
      const segment = segments[i];
      const url = new URL(segment.uri, state.url).href;
      const mapUrl = segment.map?.uri ? new URL(segment.map.uri, state.url).href : '';
      const name = localName(state.name, seq, url, mapUrl !== '');
      // fMP4: the chunk's init segment goes in first (once per origin URL), under a name the run's EXT-X-MAP gives.
      const initName = mapUrl ? await this.feedInit(state, mapUrl) : '';
      if (initName === null) break; // the init failed: retried on the next round, before its chunks
      if (seq > state.done) {
        const fed = await this.feedChunk(state, url, name, mapUrl !== '');
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
      if (initName && initName !== runMap) {
        run.push(`#EXT-X-MAP:URI="${initName}"`);
        runMap = initName;
      }
      if (segment.dateTimeString) run.push(`#EXT-X-PROGRAM-DATE-TIME:${segment.dateTimeString}`);
      run.push(`#EXTINF:${segment.duration.toFixed(3)},`, name);
      disc = false;
    }
    state.restart = false;
    await flush();
    return manifest.targetDuration ?? 2;
  }

  /** The local name of an fMP4 rendition's init segment, fetched and stored the first time; null: it could not be had now. */
  private async feedInit(state: RenditionState, url: string): Promise<string | null> {
    state.inits ??= new Map();
    const known = state.inits.get(url);
    if (known) return known;
    try {
      const { body } = await fetchOrigin(new URL(url), { allowPrivate: this.ctx.config.pullAllowPrivate, maxBytes: this.ctx.config.maxChunkBytes, what: 'init segment' });
      if (sniffUpload(body) !== 'init') throw new OriginError(`init segment ${url} (EXT-X-MAP) is not an fMP4 init segment (ftyp+moov)`);
      const name = localInitName(state.name, url);
      await storeInit(this.ctx, this.stream.id, name, body);
      state.inits.set(url, name);
      return name;
    } catch (err) {
      await this.showError((err as Error).message);
      return null;
    }
  }

  private async feedChunk(state: RenditionState, url: string, name: string, fmp4: boolean): Promise<'fed' | 'later' | 'lost'> {
    try {
      const { body } = await fetchOrigin(new URL(url), { allowPrivate: this.ctx.config.pullAllowPrivate, maxBytes: this.ctx.config.maxChunkBytes, what: 'chunk' });
      const kind = sniffUpload(body);
      if (kind !== (fmp4 ? 'fmp4' : 'ts')) throw new OriginError(`chunk ${url} is not ${fmp4 ? 'an fMP4 media segment (its playlist gives it an EXT-X-MAP)' : 'MPEG-TS'}`);
      await ingestChunk(this.ctx, this.stream, name, body, kind);
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
