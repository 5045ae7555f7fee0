// What a chunk holds: codecs, picture size, frame rate, and whether it opens
// on a keyframe. ffprobe runs directly (not through fluent-ffmpeg) because
// fluent-ffmpeg's ffprobe neither reports packets nor takes a timeout.
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runOutOfProcess } from '../util/spawner.js';
import { codecsList, rfc6381, type ProbedStream } from './codecs.js';

export interface ChunkProbe {
  videoCodec?: string;
  audioCodec?: string;
  /** RFC 6381 list, e.g. "avc1.64001f,mp4a.40.2". */
  codecs: string;
  width?: number;
  height?: number;
  frameRate?: number;
  keyframeAtStart: boolean;
  durationSec?: number;
}

interface FfprobeStream extends ProbedStream {
  index: number;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  packets?: { stream_index: number; flags?: string }[];
  format?: { duration?: string };
}

/** Enough packets to meet the first video packet even when audio leads. */
const FIRST_PACKETS = 48;

async function runFfprobe(file: string, extra: string[], timeoutMs: number): Promise<FfprobeOutput> {
  const args = ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format',
    '-show_packets', '-show_entries', 'packet=stream_index,flags', ...extra, file];
  // Spawned by the spawner process: a fork of this one would stop its requests meanwhile (util/spawner.ts).
  const { code, signal, stdout, stderr, error } = await runOutOfProcess(process.env.FFPROBE_PATH || 'ffprobe', args, { timeoutMs, maxOutput: 16 * 1024 * 1024 }).result;
  if (code !== 0) {
    const detail = error ?? (stderr.trim().split('\n').slice(-1)[0] || `exit ${code}`);
    throw new Error(`ffprobe failed: ${signal === 'SIGKILL' && !error ? `timed out after ${timeoutMs} ms` : detail}`);
  }
  try {
    return JSON.parse(stdout.toString()) as FfprobeOutput;
  } catch {
    throw new Error('ffprobe printed no JSON');
  }
}

function parseRate(rate: string | undefined): number | undefined {
  const [num, den] = (rate ?? '').split('/').map(Number);
  if (!num || !den) return undefined; // "0/0" when unknown
  return Math.round((num / den) * 1000) / 1000;
}

/** Flags of the chunk's first video packet ("K_" for a keyframe), if any was read. */
function firstVideoFlags(out: FfprobeOutput, videoIndex: number): string | undefined {
  return out.packets?.find((p) => p.stream_index === videoIndex)?.flags;
}

export async function probeChunk(bytes: Buffer, opts: { timeoutMs?: number } = {}): Promise<ChunkProbe> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const file = path.join(os.tmpdir(), `chunk-${process.pid}-${randomBytes(6).toString('hex')}.ts`);
  await writeFile(file, bytes);
  try {
    const out = await runFfprobe(file, ['-read_intervals', `%+#${FIRST_PACKETS}`], timeoutMs);
    const streams = out.streams ?? [];
    const video = streams.find((s) => s.codec_type === 'video');
    const audio = streams.find((s) => s.codec_type === 'audio');
    let flags = video ? firstVideoFlags(out, video.index) : undefined;
    if (video && flags === undefined) {
      // Rare: audio led by more than FIRST_PACKETS packets; count video only.
      const again = await runFfprobe(file, ['-select_streams', 'v:0', '-read_intervals', '%+#1'], timeoutMs);
      flags = again.packets?.[0]?.flags;
    }
    const duration = Number(out.format?.duration);
    return {
      videoCodec: video && rfc6381(video),
      audioCodec: audio && rfc6381(audio),
      codecs: codecsList([video, audio].filter((s): s is FfprobeStream => s !== undefined)),
      width: video?.width || undefined,
      height: video?.height || undefined,
      frameRate: parseRate(video?.avg_frame_rate) ?? parseRate(video?.r_frame_rate),
      // An audio-only chunk has no picture to open on, so any start is clean.
      keyframeAtStart: video ? (flags ?? '').includes('K') : true,
      durationSec: Number.isFinite(duration) && duration > 0 ? duration : undefined,
    };
  } finally {
    await rm(file, { force: true });
  }
}
