// The publishers of one protocol in this process: who may publish (key,
// active, not pulled, nobody else live), one packager per live publisher,
// restarted when it fails while the publisher stays, the source mark renewed
// while it runs. RTMP and SRT both admit and end publishers through here.
import type { Context } from '../context.js';
import { isLive, liveForMs, loadStream } from '../dvr/streams.js';
import { metrics } from '../metrics.js';
import { startPackager, type Packager } from './packager.js';
import { clearSource, gatewayStreamForKey, markSource, setStreamError, sourceOf, SOURCE_MARK_TTL_MS, type GatewayStream } from './stream-state.js';

export type Protocol = 'rtmp' | 'srt';

export type Admission = { ok: true; stream: GatewayStream } | { ok: false; status: number; reason: string; streamId?: number };

const RENEW_MS = Math.floor(SOURCE_MARK_TTL_MS / 3);
const RESTART_MS = [500, 1000, 2000, 5000, 10_000];

interface Live {
  connection: string;
  stream: GatewayStream;
  packager?: Packager;
  restarts: number;
  ended: boolean;
  /** Media flows: the stream shows this protocol as its source (stream_source_type). */
  marked?: boolean;
  timer?: NodeJS.Timeout;
}

export interface PublisherSetOptions {
  protocol: Protocol;
  /** Where the stream's HLS goes: its push_url_hls on 127.0.0.1 (ends in /). */
  ingestTarget(streamKey: string): string;
  /** The packager's reader input for a connection. */
  input(streamKey: string, connection: string): { input: string; inputOptions: string[] };
  /** Ends a publisher from our side (inactive, deleted, cannot be packaged). */
  kick(streamKey: string, connection: string): Promise<void>;
}

export class PublisherSet {
  private readonly live = new Map<string, Live>();
  /** Packagers of publishers that left, still sending their last chunk: a comeback waits for them. */
  private readonly finishing = new Map<string, Promise<void>>();

  constructor(private readonly ctx: Context, private readonly opts: PublisherSetOptions) {}

  get count(): number {
    return this.live.size;
  }

  /** Whether this key may publish now; logs and counts a refusal. */
  async admit(streamKey: string, peer: string): Promise<Admission> {
    const { protocol } = this.opts;
    const refuse = (status: number, reason: string, streamId?: number): Admission => {
      metrics.gatewayPublishes.inc({ protocol, outcome: 'refused' });
      this.ctx.log.warn({ protocol, stream_id: streamId ?? null, peer, reason }, `${protocol} publish refused`);
      return { ok: false, status, reason, streamId };
    };
    if (!streamKey) return refuse(400, 'no stream key');
    const stream = await gatewayStreamForKey(this.ctx, streamKey);
    if (!stream) return refuse(404, 'unknown stream key');
    const id = stream.record.id;
    if (!stream.active) return refuse(403, 'stream is not active', id);
    if (stream.pull) return refuse(409, 'stream pulls from its uri; it takes no publisher', id);
    if (this.live.has(streamKey)) return refuse(409, 'another publisher is live on this stream', id);
    // A mark of this protocol is this process's own (one RTMP server, one SRT port): the map above decides.
    const feeding = await sourceOf(this.ctx, id);
    if (feeding && feeding !== protocol) return refuse(409, `the stream is already fed over ${feeding}`, id);
    // No gateway's mark, yet chunks keep arriving: an encoder pushes HLS to push_url_hls.
    if (!feeding && isLive(stream.record, this.ctx.clock.now())) {
      return refuse(409, 'the stream is already fed by an encoder pushing HLS to push_url_hls; stop it first', id);
    }
    return { ok: true, stream };
  }

  /** An admitted publisher started: package it. */
  async begin(streamKey: string, connection: string, stream: GatewayStream): Promise<void> {
    const { protocol } = this.opts;
    metrics.gatewayPublishes.inc({ protocol, outcome: 'accepted' });
    metrics.gatewayLive.inc({ protocol });
    const entry: Live = { connection, stream, restarts: 0, ended: false };
    this.live.set(streamKey, entry);
    await setStreamError(this.ctx, stream.record.id, 'ingest_error', '');
    this.ctx.log.info({ protocol, stream_id: stream.record.id, transcode: stream.transcode }, `${protocol} publisher live`);
    entry.timer = setInterval(() => void this.renew(streamKey, entry), RENEW_MS);
    // The previous run's last chunk and playlist go out before this run's first.
    await this.finishing.get(streamKey);
    if (!entry.ended) this.launch(streamKey, entry);
  }

  /**
   * The mark stays as long as the stream's last chunks keep it live (isLive:
   * three target durations, which the chunks may have raised past the chunk
   * length asked for), so a publisher coming back within that time is taken
   * for what it is, not for an HLS push.
   */
  private async lingerMark(entry: Live): Promise<void> {
    const tdur = (await loadStream(this.ctx, entry.stream.record.id))?.tdur ?? 0;
    const lingerMs = liveForMs(Math.max(tdur, this.ctx.config.gatewayChunkSeconds)) + 1000;
    await clearSource(this.ctx, entry.stream.record.id, this.opts.protocol, lingerMs);
  }

  private launch(streamKey: string, entry: Live): void {
    const { protocol } = this.opts;
    const { input, inputOptions } = this.opts.input(streamKey, entry.connection);
    const id = entry.stream.record.id;
    const packager = startPackager({
      log: this.ctx.log, input, inputOptions, target: this.opts.ingestTarget(streamKey),
      transcode: entry.stream.transcode, chunkSeconds: this.ctx.config.gatewayChunkSeconds,
      onProbed: (source, refused) => {
        if (refused) return;
        this.ctx.log.info({ protocol, stream_id: id, source }, `${protocol} source probed; packaging`);
        // Marked once media flows, not at admission: an SRT caller admitted by
        // its stream id may still be refused by libsrt (passphrase) and must
        // never show as the stream's source.
        entry.marked = true;
        void markSource(this.ctx, id, protocol).catch((err) => this.ctx.log.warn({ err }, 'marking the stream source failed'));
      },
    });
    entry.packager = packager;
    void packager.done.then(async (reason) => {
      if (entry.ended || this.live.get(streamKey) !== entry) return;
      if (reason && /cannot be packaged|needs a video|no audio or video/.test(reason)) {
        // A source that will never package: say so on the stream and end the publish.
        this.ctx.log.warn({ protocol, stream_id: id, reason }, `${protocol} publish cannot be packaged`);
        await setStreamError(this.ctx, id, 'ingest_error', reason);
        await this.end(streamKey, entry.connection);
        await clearSource(this.ctx, id, protocol, 1); // nothing of it was stored: no mark either
        await this.opts.kick(streamKey, entry.connection);
        return;
      }
      if (reason) {
        metrics.gatewayPackagerFailures.inc({ protocol });
        await setStreamError(this.ctx, id, 'ingest_error', reason);
      }
      if (protocol === 'srt') {
        // The SRT reader is the connection: when it ends, the publish is over.
        await this.end(streamKey, entry.connection);
        return;
      }
      // The RTMP publisher is still connected (nginx says when it leaves): package again.
      const delay = RESTART_MS[Math.min(entry.restarts++, RESTART_MS.length - 1)];
      this.ctx.log.warn({ protocol, stream_id: id, reason, retry_in_ms: delay }, `${protocol} packaging ended; starting again`);
      setTimeout(() => {
        if (!entry.ended && this.live.get(streamKey) === entry) this.launch(streamKey, entry);
      }, delay);
    });
  }

  private async renew(streamKey: string, entry: Live): Promise<void> {
    try {
      const now = await gatewayStreamForKey(this.ctx, streamKey);
      if (!now || !now.active) {
        this.ctx.log.info({ protocol: this.opts.protocol, stream_id: entry.stream.record.id }, `${this.opts.protocol} publisher dropped: stream ${now ? 'made inactive' : 'deleted'}`);
        await this.end(streamKey, entry.connection);
        await this.opts.kick(streamKey, entry.connection);
        return;
      }
      if (entry.marked) await markSource(this.ctx, entry.stream.record.id, this.opts.protocol);
    } catch (err) {
      this.ctx.log.warn({ err }, 'renewing a gateway publisher failed');
    }
  }

  /** The publisher left (or was dropped): stop packaging, let the last chunk go out. */
  async end(streamKey: string, connection: string): Promise<void> {
    const entry = this.live.get(streamKey);
    if (!entry || entry.connection !== connection) return;
    entry.ended = true;
    this.live.delete(streamKey);
    clearInterval(entry.timer);
    metrics.gatewayLive.dec({ protocol: this.opts.protocol });
    const stopped = (entry.packager?.stop() ?? Promise.resolve()).finally(() => {
      if (this.finishing.get(streamKey) === stopped) this.finishing.delete(streamKey);
    });
    this.finishing.set(streamKey, stopped);
    await stopped;
    // Unless a new publisher of the same key took over meanwhile.
    if (!this.live.has(streamKey)) await this.lingerMark(entry).catch(() => undefined);
    this.ctx.log.info({ protocol: this.opts.protocol, stream_id: entry.stream.record.id }, `${this.opts.protocol} publisher ended`);
  }

  /** Process ids of the packaging children (the benchmark reads their CPU time). */
  pids(): number[] {
    return [...this.live.values()].flatMap((e) => e.packager?.pids ?? []);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.live.entries()].map(([key, e]) => this.end(key, e.connection)));
    await Promise.all([...this.finishing.values()]);
  }
}
