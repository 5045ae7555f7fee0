// A synthetic live encoder for the first run and the end-to-end test: an
// ffmpeg test pattern with a clock and a tone, published over RTMP as OBS
// does (an rtmp:// target), or three renditions pushed as HLS over HTTP PUT
// exactly the way a real ffmpeg-based encoder would push.
import { execFile } from 'node:child_process';
import ffmpeg from 'fluent-ffmpeg';
import type { Logger } from 'pino';
import { ffmpegBin } from '../util/ffmpeg-bin.js';

export interface DemoEncoderOptions {
  /** Seconds per chunk; keyframes are forced on this grid. Default 2. */
  hlsTime?: number;
  /** Stop after this many seconds of media (a bounded run, for tests). */
  durationSec?: number;
  /** Burn a UTC clock into the picture; needs drawtext and a font. */
  overlay?: boolean;
  /**
   * Write a finished VOD ladder as fast as ffmpeg can (no -re, every chunk
   * kept, no program date times) instead of pushing live: the fixtures use
   * this to get the same ladder into local files.
   */
  vod?: boolean;
}

const FPS = 25;
const LADDER = [
  { height: 240, width: 426, videoKbps: 250 },
  { height: 480, width: 854, videoKbps: 600 },
  { height: 720, width: 1280, videoKbps: 1200 },
] as const;

/** The pieces of the ffmpeg command, kept as data so argv and fluent-ffmpeg agree. */
interface EncoderPlan {
  inputs: { source: string; options: string[] }[];
  filter: string;
  outputOptions: string[];
  output: string;
}

/** One 720p rendition with a tone as FLV, the way OBS publishes over RTMP. */
function rtmpPlan(target: string, opts: DemoEncoderOptions, clock: string): EncoderPlan {
  const hlsTime = opts.hlsTime ?? 2;
  const top = LADDER[LADDER.length - 1];
  const outputOptions = [
    '-map', '[v]', '-map', '1:a', '-b:v', `${top.videoKbps}k`, '-maxrate', `${top.videoKbps}k`, '-bufsize', `${top.videoKbps * 2}k`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    '-g', String(FPS * hlsTime), '-keyint_min', String(FPS * hlsTime), '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '64k', '-ac', '2', '-ar', '48000',
    ...(opts.durationSec ? ['-t', String(opts.durationSec)] : []),
    '-f', 'flv',
  ];
  return {
    inputs: [
      { source: `testsrc2=size=${top.width}x${top.height}:rate=${FPS}`, options: ['-re', '-f', 'lavfi'] },
      { source: 'sine=frequency=440:sample_rate=48000', options: ['-re', '-f', 'lavfi'] },
    ],
    filter: `[0:v]${clock}null[v]`,
    outputOptions,
    output: target,
  };
}

function plan(target: string, opts: DemoEncoderOptions = {}): EncoderPlan {
  const hlsTime = opts.hlsTime ?? 2;
  const base = target.endsWith('/') ? target : `${target}/`;
  const realtime = opts.vod ? [] : ['-re'];
  // The clock shows UTC because program date times (and so clip starts) are UTC.
  const clock = opts.overlay
    ? `drawtext=text='%{gmtime\\:%T} UTC':fontsize=48:fontcolor=white:box=1:boxcolor=black@0.6:x=24:y=24,`
    : '';
  if (target.startsWith('rtmp://')) return rtmpPlan(target, opts, clock);
  const split = LADDER.map((_, i) => `[s${i}]`).join('');
  const scales = LADDER.map((r, i) => `[s${i}]scale=${r.width}:${r.height}[v${i}]`).join(';');
  const outputOptions: string[] = [];
  LADDER.forEach((r, i) => {
    outputOptions.push('-map', `[v${i}]`, '-map', '1:a');
    outputOptions.push(`-b:v:${i}`, `${r.videoKbps}k`, `-maxrate:v:${i}`, `${r.videoKbps}k`, `-bufsize:v:${i}`, `${r.videoKbps * 2}k`);
  });
  outputOptions.push(
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
    // Same keyframe grid in every rendition, and no scene-cut keyframes, so
    // each chunk opens on a keyframe and chunks line up across renditions.
    '-g', String(FPS * hlsTime), '-keyint_min', String(FPS * hlsTime), '-sc_threshold', '0',
    '-force_key_frames', `expr:gte(t,n_forced*${hlsTime})`,
    '-c:a', 'aac', '-b:a', '64k', '-ac', '2', '-ar', '48000',
  );
  if (opts.durationSec) outputOptions.push('-t', String(opts.durationSec));
  outputOptions.push('-f', 'hls', '-hls_time', String(hlsTime));
  if (opts.vod) {
    outputOptions.push('-hls_playlist_type', 'vod', '-hls_list_size', '0', '-hls_flags', 'independent_segments');
  } else {
    // One connection per request: a half-dead keep-alive connection would stall the push.
    outputOptions.push('-method', 'PUT', '-http_persistent', '0', '-hls_list_size', '6',
      '-hls_flags', 'independent_segments+program_date_time');
  }
  outputOptions.push(
    '-master_pl_name', 'master.m3u8',
    '-var_stream_map', LADDER.map((_, i) => `v:${i},a:${i}`).join(' '),
    // ffmpeg's default, stream_%v%d.ts, is ambiguous: stream_10.ts is variant 1's
    // chunk 0 or variant 0's chunk 10. The ingest copes; people reading logs do not.
    '-hls_segment_filename', `${base}stream_%v_%05d.ts`,
  );
  return {
    inputs: [
      { source: `testsrc2=size=1280x720:rate=${FPS}`, options: [...realtime, '-f', 'lavfi'] },
      { source: 'sine=frequency=440:sample_rate=48000', options: [...realtime, '-f', 'lavfi'] },
    ],
    filter: `[0:v]${clock}split=${LADDER.length}${split};${scales}`,
    outputOptions,
    output: `${base}stream_%v.m3u8`,
  };
}

/**
 * The full ffmpeg argv (without "ffmpeg"), for tests that run it themselves.
 * `target` is the push URL, or a local directory (ending in /) with `vod`.
 */
export function demoEncoderArgs(target: string, opts: DemoEncoderOptions = {}): string[] {
  const p = plan(target, opts);
  return [
    '-hide_banner', '-nostats', '-loglevel', 'error',
    ...p.inputs.flatMap((i) => [...i.options, '-i', i.source]),
    '-filter_complex', p.filter,
    ...p.outputOptions,
    p.output,
  ];
}

let drawtextWorks: Promise<boolean> | undefined;

/** Whether this ffmpeg has drawtext and a font it can find (tried once, on a tiny frame). */
export function canDrawText(): Promise<boolean> {
  drawtextWorks ??= new Promise((resolve) => {
    const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=size=64x64:duration=0.04',
      '-vf', "drawtext=text='00\\:00'", '-f', 'null', '-'];
    execFile(ffmpegBin(), args, { timeout: 10_000 }, (err) => resolve(!err));
  });
  return drawtextWorks;
}

function command(pushUrl: string, opts: DemoEncoderOptions): ffmpeg.FfmpegCommand {
  const p = plan(pushUrl, opts);
  const cmd = ffmpeg();
  for (const input of p.inputs) cmd.input(input.source).inputOptions(...input.options);
  // Options are spread (not passed as an array): fluent-ffmpeg splits array
  // items that hold one space, which would break the var_stream_map value.
  return cmd
    .complexFilter(p.filter)
    .outputOptions('-hide_banner', '-nostats', '-loglevel', 'error', ...p.outputOptions)
    .output(p.output);
}

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
/** A run this long counts as healthy and resets the back-off. */
const HEALTHY_RUN_MS = 60_000;

/**
 * Runs the demo encoder until stop(). A crashed ffmpeg is restarted after a
 * doubling delay (1 s up to 30 s); a bounded run (durationSec) that ends
 * normally is not restarted.
 */
export function startDemoEncoder(pushUrl: string, log: Logger, opts: DemoEncoderOptions = {}): { stop(): Promise<void> } {
  let current: ffmpeg.FfmpegCommand | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;
  let backoff = MIN_BACKOFF_MS;
  let timer: NodeJS.Timeout | undefined;

  const launch = async (): Promise<void> => {
    const overlay = opts.overlay ?? (await canDrawText());
    if (stopped) return;
    const startedAt = Date.now();
    const cmd = command(pushUrl, { ...opts, overlay });
    current = cmd;
    // If the process exits without stop(), ffmpeg must not go on pushing.
    const killOnExit = () => cmd.kill('SIGKILL');
    process.once('exit', killOnExit);
    exited = new Promise((resolve) => {
      const done = () => {
        process.removeListener('exit', killOnExit);
        current = undefined;
        resolve();
      };
      cmd.on('start', () => log.info({ pushUrl, overlay }, 'demo encoder started'));
      cmd.on('end', () => {
        log.info('demo encoder finished');
        done();
      });
      cmd.on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
        done();
        if (stopped) return;
        if (Date.now() - startedAt > HEALTHY_RUN_MS) backoff = MIN_BACKOFF_MS;
        const detail = (stderr ?? '').trim().split('\n').slice(-3).join(' | ');
        log.warn({ reason: err.message.split('\n')[0], stderr: detail, retryInMs: backoff }, 'demo encoder exited; restarting');
        timer = setTimeout(() => void launch(), backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      });
    });
    cmd.run();
  };
  void launch();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const cmd = current;
      if (!cmd) return exited;
      cmd.kill('SIGTERM');
      const force = setTimeout(() => cmd.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(force);
    },
  };
}
