// One publish, packaged: a reader ffmpeg takes the protocol's stream (RTMP
// played back from nginx-rtmp, or an SRT listener) and copies it as MPEG-TS
// to its stdout; the first bytes are probed (ffprobe on a pipe), then the
// packaging ffmpeg (ladder.ts) gets every byte, the probed head included, and
// PUTs HLS into the stream's own push_url_hls, exactly as an external encoder
// does. Nothing of the publish is lost to probing, and clips, playback, MP4
// and VOD see ordinary pushed HLS.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { ffmpegBin } from '../util/ffmpeg-bin.js';
import { packagingArgs, parseProbe, unpackageable, type ProbedSource } from './ladder.js';

const FFPROBE = () => process.env.FFPROBE_PATH || 'ffprobe';
/** Probe once this much arrived, or after PROBE_WAIT_MS with whatever arrived. */
const PROBE_BYTES = 256 * 1024;
const PROBE_WAIT_MS = 500;
const PROBE_TIMEOUT_MS = 10_000;
/** A source whose streams still do not show after this long is given up. */
const PROBE_GIVE_UP_MS = 10_000;
/** Bytes kept while the packager starts; past this the publish is given up (it is not being read). */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

/** Every gateway child alive in this process, ended on shutdown. */
const children = new Set<ChildProcess>();

/** Process ids of every gateway child alive now (the benchmark reads their CPU time). */
export function gatewayChildPids(): number[] {
  return [...children].map((c) => c.pid).filter((p): p is number => typeof p === 'number');
}

export function killAllGatewayChildren(): void {
  for (const child of children) child.kill('SIGKILL');
}

export interface PackagerOptions {
  log: Logger;
  /** Reader ffmpeg input options and URL. */
  inputOptions: string[];
  input: string;
  /** The stream's push_url_hls on 127.0.0.1, ending in /. */
  target: string;
  transcode: 'source' | 'abr';
  chunkSeconds: number;
  /** The source was probed: the packager starts (or why it cannot). */
  onProbed?(source: ProbedSource, refused: string | null): void;
}

export interface Packager {
  /** Resolves when both processes are gone, with the reason the publish ended ('' when it ended normally). */
  done: Promise<string>;
  readonly pids: number[];
  stop(): Promise<void>;
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  // ESRCH or an already-closed pipe must not take the service down.
  child.on('error', () => undefined);
  child.stdin?.on('error', () => undefined);
  return child;
}

/** The last lines a child printed, for the log when it fails. */
function tail(child: ChildProcess, lines: string[]): void {
  child.stderr?.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      if (line.trim()) lines.push(line.trim());
      if (lines.length > 10) lines.shift();
    }
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

async function probe(head: Buffer): Promise<ProbedSource> {
  const child = track(spawn(FFPROBE(), ['-v', 'error', '-show_streams', '-of', 'json', '-i', 'pipe:0'], { stdio: ['pipe', 'pipe', 'ignore'] }));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stdin!.end(head);
  const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
  await exited(child);
  clearTimeout(timer);
  try {
    return parseProbe(out || '{}');
  } catch {
    return {};
  }
}

export function startPackager(opts: PackagerOptions): Packager {
  const runId = `r${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const readerLines: string[] = [];
  const reader = track(spawn(ffmpegBin(), [
    // A short analysis by default: the stream's parameters come with its first
    // frames, and every second spent here is a second of delay (the bytes are
    // kept, nothing is lost). A gateway whose reader joins mid-stream asks for
    // longer in its input options (rtmp.ts).
    '-hide_banner', '-nostats', '-loglevel', 'warning', '-analyzeduration', '1000000',
    ...opts.inputOptions, '-i', opts.input,
    '-map', '0:v:0?', '-map', '0:a:0?', '-c', 'copy', '-f', 'mpegts', 'pipe:1',
  ], { stdio: ['ignore', 'pipe', 'pipe'] }));
  tail(reader, readerLines);
  let packager: ChildProcess | undefined;
  const packagerLines: string[] = [];
  let stopping = false;
  let refused = '';

  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let probing = false;
  let packaging: Promise<void> = Promise.resolve();
  const startPackaging = () => {
    if (probing) return;
    probing = true;
    packaging = packageProbed().catch((err) => {
      opts.log.warn({ err }, 'starting the packaging ffmpeg failed');
      reader.kill('SIGKILL');
    });
  };
  const packageProbed = async () => {
    // MPEG-TS cannot carry it: the reader said so while copying (its codec name is lost on the pipe).
    const foreignCodec = () => readerLines.map((l) => /codec (\w+), is muxed as a private data stream/.exec(l)?.[1]).find(Boolean);
    let source = await probe(Buffer.concat(pending));
    // A head too short to show its streams (or the picture size, which the ladder
    // needs, before the first keyframe's parameter sets): probe again with more.
    const incomplete = (s: ProbedSource) => (!s.video && !s.audio) || (s.video !== undefined && !s.video.height);
    while (incomplete(source) && !foreignCodec() && !reader.stdout!.readableEnded && !stopping
      && Date.now() - firstByteAt < PROBE_GIVE_UP_MS) {
      await new Promise((r) => setTimeout(r, PROBE_WAIT_MS));
      source = await probe(Buffer.concat(pending));
    }
    const foreign = foreignCodec();
    const why = foreign
      ? `codec ${foreign} cannot be packaged: send H.264 or HEVC video with AAC audio (what OBS sends by default)`
      : unpackageable(source, opts.transcode);
    opts.onProbed?.(source, why);
    if (why || stopping) {
      refused = why ?? '';
      reader.kill('SIGTERM');
      return;
    }
    const args = packagingArgs({ input: 'pipe:0', target: opts.target, runId, chunkSeconds: opts.chunkSeconds, transcode: opts.transcode, source });
    packager = track(spawn(ffmpegBin(), args, { stdio: ['pipe', 'ignore', 'pipe'] }));
    tail(packager, packagerLines);
    for (const b of pending.splice(0)) packager.stdin!.write(b);
    pendingBytes = 0;
    if (reader.stdout!.readableEnded) packager.stdin!.end();
    else reader.stdout!.pipe(packager.stdin!);
  };
  let firstByteAt = 0;
  let probeTimer: NodeJS.Timeout | undefined;
  reader.stdout!.on('data', (b: Buffer) => {
    if (packager) return; // piped
    if (!firstByteAt) {
      firstByteAt = Date.now();
      probeTimer = setTimeout(() => startPackaging(), PROBE_WAIT_MS);
    }
    pending.push(b);
    pendingBytes += b.length;
    if (pendingBytes >= PROBE_BYTES) startPackaging();
    if (pendingBytes > MAX_PENDING_BYTES) reader.kill('SIGKILL');
  });
  reader.stdout!.on('end', () => {
    if (!probing && pendingBytes > 0) startPackaging();
    else if (packager && !packager.stdin!.writableEnded) packager.stdin!.end();
  });

  const done = (async () => {
    const readerCode = await exited(reader);
    clearTimeout(probeTimer);
    // The packager ends by itself once its stdin closes: the last chunk and playlist go out first.
    await packaging;
    const packagerCode = packager ? await exited(packager) : 0;
    opts.log.debug({ reader: readerCode, packager: packagerCode, readerLines, packagerLines }, 'packaging ended');
    if (refused) return refused;
    if (stopping) return '';
    if (packagerCode) return `packaging ffmpeg failed: ${packagerLines.slice(-3).join(' | ') || `exit ${packagerCode}`}`;
    if (readerCode && pendingBytes === 0 && !packager) return `reading the stream failed: ${readerLines.slice(-3).join(' | ') || `exit ${readerCode}`}`;
    return '';
  })();

  return {
    done,
    get pids() {
      return [reader.pid, packager?.pid].filter((p): p is number => typeof p === 'number');
    },
    async stop() {
      stopping = true;
      // ffmpeg leaves a blocking read (an RTMP connection gone quiet) only on a
      // second signal; either way it writes its trailer and the packager its last chunk.
      reader.kill('SIGTERM');
      const again = setTimeout(() => reader.kill('SIGTERM'), 300);
      // The reader has nothing more to give after a few seconds; a ladder may
      // still be encoding its backlog, and gets longer to send it.
      const forceReader = setTimeout(() => reader.kill('SIGKILL'), 5000);
      const force = setTimeout(() => packager?.kill('SIGKILL'), 30_000);
      await done;
      clearTimeout(again);
      clearTimeout(forceReader);
      clearTimeout(force);
    },
  };
}
