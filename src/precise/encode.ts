// Re-encodes one edge of one chunk: the frames from a given instant, or up to
// one, in the chunk's own codec, profile, level, size, frame rate, pixel
// format and (measured) bitrate, with its audio cut at the same instants.
// Timestamps are the DVR's (-copyts, no mux delay), so the new chunk joins
// its neighbours with no discontinuity. ffmpeg runs at the lowest CPU
// priority (nice 19): viewers and ingest come first.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ffmpegBin } from '../util/ffmpeg-bin.js';

const run = promisify(execFile);

/** Half a millisecond: timestamps are compared with this slack (90 kHz ticks round). */
const EPS = 0.0005;

export class CannotReencode extends Error {}

/** Video encoders this build can match, by ffprobe codec name (H.264 is the one tested). */
const VIDEO_ENCODERS: Record<string, string> = { h264: 'libx264', hevc: 'libx265' };
/** Audio encoders of Debian's ffmpeg, by codec name. */
const AUDIO_ENCODERS: Record<string, string> = { aac: 'aac', mp3: 'libmp3lame', ac3: 'ac3', eac3: 'eac3', mp2: 'mp2', opus: 'libopus' };
/** Samples per frame of an audio codec: the AAC encoder's priming is one frame. */
const FRAME_SAMPLES: Record<string, number> = { aac: 1024, mp3: 1152, ac3: 1536, eac3: 1536, mp2: 1152, opus: 960 };

export interface ChunkProbe {
  video: { codec: string; profile?: string; level?: number; pixFmt: string; width: number; height: number; frameDur: number; bitrate: number };
  audio: { codec: string; sampleRate: number; channels: number; bitrate: number; firstPts: number } | null;
  /** Video frame pts in seconds, sorted. */
  frames: number[];
}

interface FfprobeOut {
  streams: Array<Record<string, string | number | undefined>>;
  packets: Array<{ stream_index: number; pts_time?: string; size?: string; duration_time?: string }>;
}

export async function probeChunk(file: string, durationMs: number): Promise<ChunkProbe> {
  const { stdout } = await run('ffprobe', [
    '-v', 'error', '-of', 'json', '-show_entries',
    'stream=index,codec_type,codec_name,profile,level,pix_fmt,width,height,r_frame_rate,sample_rate,channels,bit_rate:packet=stream_index,pts_time,size',
    file,
  ], { maxBuffer: 32 << 20 });
  const out = JSON.parse(stdout) as FfprobeOut;
  const v = out.streams.find((s) => s.codec_type === 'video');
  const a = out.streams.find((s) => s.codec_type === 'audio');
  if (!v) throw new CannotReencode('the chunk has no video stream');
  const ofStream = (i: unknown) => out.packets.filter((p) => p.stream_index === i && p.pts_time !== undefined);
  const vPackets = ofStream(v.index);
  const frames = vPackets.map((p) => Number(p.pts_time)).sort((x, y) => x - y);
  const [num, den] = String(v.r_frame_rate ?? '25/1').split('/').map(Number);
  const frameDur = num > 0 && den > 0 ? den / num : 0.04;
  const seconds = Math.max(durationMs / 1000, frameDur);
  const bits = (packets: typeof vPackets) => packets.reduce((s, p) => s + Number(p.size ?? 0) * 8, 0);
  const aPackets = a ? ofStream(a.index) : [];
  return {
    video: {
      codec: String(v.codec_name), profile: v.profile as string | undefined, level: v.level !== undefined ? Number(v.level) : undefined,
      pixFmt: String(v.pix_fmt ?? 'yuv420p'), width: Number(v.width), height: Number(v.height), frameDur,
      bitrate: Math.max(50_000, Math.round(bits(vPackets) / seconds)),
    },
    audio: a ? {
      codec: String(a.codec_name), sampleRate: Number(a.sample_rate), channels: Number(a.channels),
      bitrate: Number(a.bit_rate) || Math.round(bits(aPackets) / seconds) || 64_000,
      firstPts: aPackets.length ? Math.min(...aPackets.map((p) => Number(p.pts_time))) : 0,
    } : null,
    frames,
  };
}

/** libx264's name of an ffprobe profile ("Constrained Baseline" → baseline). */
function x264Profile(profile: string | undefined): string | null {
  const p = (profile ?? '').toLowerCase();
  if (p.includes('baseline')) return 'baseline';
  if (p === 'main') return 'main';
  if (p === 'high') return 'high';
  return null;
}

export interface EdgeResult {
  bytes: Buffer;
  /** Offset of the first kept frame from the chunk's first frame, and the end of the last one, seconds. */
  fromS: number;
  toS: number;
  cpuSeconds: number;
}

/**
 * Re-encodes the part of `bytes` from `fromMs` to `toMs` (ms into the chunk,
 * measured from its first frame; null: to the end). Throws CannotReencode for
 * a codec this build cannot match.
 */
export async function encodeEdge(
  bytes: Buffer, durationMs: number, fromMs: number, toMs: number | null, timeoutMs: number,
): Promise<EdgeResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'precise-'));
  try {
    const input = path.join(dir, 'in.ts');
    const output = path.join(dir, 'out.ts');
    await writeFile(input, bytes);
    const probe = await probeChunk(input, durationMs);
    const encoder = VIDEO_ENCODERS[probe.video.codec];
    if (!encoder) throw new CannotReencode(`video codec ${probe.video.codec} has no matching encoder here (H.264 with libx264, HEVC with libx265)`);
    if (probe.frames.length === 0) throw new CannotReencode('the chunk has no video frames');
    const t0 = probe.frames[0];
    const fd = probe.video.frameDur;
    const kept = probe.frames.filter((t) => t >= t0 + fromMs / 1000 - EPS && (toMs === null || t < t0 + toMs / 1000 - EPS));
    if (kept.length === 0) throw new CannotReencode('no frame of the chunk lies inside the clip');
    const first = kept[0];
    const last = kept[kept.length - 1];
    // Cut between frames: half a frame around the kept ones.
    const vStart = first - fd / 2;
    const end = last + fd;
    const vFilter = `[0:v:0]trim=start=${vStart.toFixed(6)}${toMs === null ? '' : `:end=${(last + fd / 2).toFixed(6)}`}[v]`;
    // level+info for the `bench:` line (CPU used); errors are picked out by their tag.
    const args = ['-hide_banner', '-loglevel', 'level+info', '-nostats', '-benchmark', '-y', '-copyts', '-i', input];
    const maps = ['-map', '[v]'];
    const filters = [vFilter];
    const audio = probe.audio;
    const audioArgs: string[] = [];
    if (audio) {
      const aEncoder = AUDIO_ENCODERS[audio.codec];
      if (!aEncoder) throw new CannotReencode(`audio codec ${audio.codec} has no encoder in this ffmpeg`);
      const frame = (FRAME_SAMPLES[audio.codec] ?? 1024) / audio.sampleRate;
      // From the keyframe, the encoder's priming frame takes the place of the
      // chunk's first audio frame, so the audio stays continuous with the
      // chunk before; from a cut, audio starts at the first kept frame.
      const aStart = fromMs > 0 ? first : audio.firstPts + frame;
      filters.push(`[0:a:0]atrim=start=${aStart.toFixed(6)}${toMs === null ? '' : `:end=${end.toFixed(6)}`}[a]`);
      maps.push('-map', '[a]');
      audioArgs.push('-c:a', aEncoder, '-b:a', String(audio.bitrate), '-ar', String(audio.sampleRate), '-ac', String(audio.channels));
    }
    const v = probe.video;
    const videoArgs = ['-fps_mode', 'passthrough', '-c:v', encoder, '-preset', 'veryfast', '-pix_fmt', v.pixFmt,
      '-b:v', String(v.bitrate), '-maxrate', String(Math.round(v.bitrate * 1.5)), '-bufsize', String(v.bitrate * 2)];
    const profile = encoder === 'libx264' ? x264Profile(v.profile) : null;
    if (profile) videoArgs.push('-profile:v', profile);
    if (encoder === 'libx264' && v.level && v.level > 0) videoArgs.push('-level:v', (v.level / 10).toFixed(1));
    args.push('-filter_complex', filters.join(';'), ...maps, ...videoArgs, ...audioArgs,
      '-muxdelay', '0', '-muxpreload', '0', '-f', 'mpegts', output);
    const cpuSeconds = await runNiced(args, timeoutMs);
    return { bytes: await readFile(output), fromS: first - t0, toS: end - t0, cpuSeconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** ffmpeg at nice 19; resolves with the CPU seconds it used (its -benchmark line). */
function runNiced(args: string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('nice', ['-n', '19', ffmpegBin(), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-20_000); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const bench = /bench: utime=([0-9.]+)s stime=([0-9.]+)s/.exec(stderr);
      if (code === 0) return resolve(bench ? Number(bench[1]) + Number(bench[2]) : 0);
      const errors = stderr.split('\n').filter((l) => /^\[(error|fatal|panic)\]/.test(l)).join(' ').slice(-1000);
      reject(new Error(`ffmpeg ${signal ? `killed by ${signal}` : `exited ${code}`}: ${errors || stderr.slice(-500)}`));
    });
  });
}
