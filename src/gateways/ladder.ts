// What the packaging ffmpeg is told to do with a source it has probed: copy it
// as it is ("source") or make a keyframe-aligned ladder ("abr"). Pure
// functions, so the argv can be checked without running anything.

export interface ProbedSource {
  video?: { codec: string; width: number; height: number; fps: number };
  audio?: { codec: string };
}

export interface Rung {
  height: number;
  videoKbps: number;
}

/** Codecs MPEG-TS chunks carry and players take; anything else is not packaged as is. */
const COPY_VIDEO = new Set(['h264', 'hevc']);
const COPY_AUDIO = new Set(['aac', 'mp3', 'ac3', 'eac3']);
/** The rungs below the source's own height; 240p is the floor. */
const LOWER_RUNGS = [720, 480, 240];

/** Why a source cannot be packaged in this mode, or null when it can. */
export function unpackageable(source: ProbedSource, transcode: 'source' | 'abr'): string | null {
  if (!source.video && !source.audio) return 'no audio or video stream arrived';
  if (transcode === 'abr') return source.video ? null : 'transcode "abr" needs a video stream';
  if (source.video && !COPY_VIDEO.has(source.video.codec)) {
    return `video codec ${source.video.codec} cannot be packaged as is: send H.264 or HEVC, or set transcode "abr"`;
  }
  if (source.audio && !COPY_AUDIO.has(source.audio.codec)) {
    return `audio codec ${source.audio.codec} cannot be packaged as is: send AAC, or set transcode "abr"`;
  }
  return null;
}

function kbpsFor(height: number): number {
  // About 0.1 bit per pixel at 25-30 fps, rounded: 240p 400k, 480p 1200k, 720p 2500k, 1080p 5000k.
  if (height <= 240) return 400;
  if (height <= 360) return 800;
  if (height <= 480) return 1200;
  if (height <= 720) return 2500;
  return 5000;
}

/** The source height (even) and every lower rung, highest first; never upscaled. */
export function ladderFor(sourceHeight: number): Rung[] {
  const top = Math.max(2, sourceHeight - (sourceHeight % 2));
  const heights = [top, ...LOWER_RUNGS.filter((h) => h < top)];
  return heights.map((height) => ({ height, videoKbps: kbpsFor(height) }));
}

export interface PackagingPlan {
  input: string;
  /** Directory URL the HLS goes to (ending in /), e.g. the stream's push_url_hls. */
  target: string;
  /** Changes on every packager run, so a restart never reuses a chunk name. */
  runId: string;
  chunkSeconds: number;
  transcode: 'source' | 'abr';
  source: ProbedSource;
  /** Extra input options (protocol ones: -rtmp_live, SRT listener settings). */
  inputOptions?: string[];
}

function hlsOutput(plan: PackagingPlan, variants: number): string[] {
  const out = [
    '-f', 'hls', '-hls_time', String(plan.chunkSeconds), '-hls_list_size', '6',
    // discont_start: a packager restart (the publisher came back) is an explicit discontinuity.
    // No program_date_time: ffmpeg would stamp the wall clock at its start on
    // media probed a second or two earlier; the ingest's arrival times are truer.
    '-hls_flags', 'independent_segments+discont_start',
    // One connection per request: a half-dead keep-alive connection would stall the push.
    '-method', 'PUT', '-http_persistent', '0',
  ];
  if (variants > 1) {
    out.push('-master_pl_name', 'master.m3u8', '-var_stream_map', varStreamMap(plan.source, variants));
  }
  out.push('-hls_segment_filename', `${plan.target}${plan.runId}_%v_%05d.ts`, `${plan.target}stream_%v.m3u8`);
  return out;
}

function varStreamMap(source: ProbedSource, variants: number): string {
  return Array.from({ length: variants }, (_, i) => (source.audio ? `v:${i},a:${i}` : `v:${i}`)).join(' ');
}

/** ffmpeg's argv (without "ffmpeg") for a plan. */
export function packagingArgs(plan: PackagingPlan): string[] {
  // The source's parameters are in its first frames; a long analysis would only delay the chunks.
  const head = ['-hide_banner', '-nostats', '-loglevel', 'warning', '-analyzeduration', '1000000', ...(plan.inputOptions ?? []), '-i', plan.input];
  const { video, audio } = plan.source;
  if (plan.transcode === 'source' || !video) {
    const maps = [...(video ? ['-map', '0:v:0'] : []), ...(audio ? ['-map', '0:a:0'] : [])];
    return [...head, ...maps, '-c', 'copy', ...hlsOutput(plan, 1)];
  }
  const rungs = ladderFor(video.height);
  const fps = video.fps > 0 && video.fps <= 120 ? video.fps : 30;
  const gop = Math.max(1, Math.round(fps * plan.chunkSeconds));
  const split = rungs.map((_, i) => `[s${i}]`).join('');
  const scales = rungs.map((r, i) => `[s${i}]scale=-2:${r.height}[v${i}]`).join(';');
  const args = [...head, '-filter_complex', `[0:v]split=${rungs.length}${split};${scales}`];
  rungs.forEach((r, i) => {
    args.push('-map', `[v${i}]`);
    if (audio) args.push('-map', '0:a:0');
    args.push(`-b:v:${i}`, `${r.videoKbps}k`, `-maxrate:v:${i}`, `${r.videoKbps}k`, `-bufsize:v:${i}`, `${r.videoKbps * 2}k`);
  });
  args.push(
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
    // The same keyframe times in every rung, none from scene cuts: chunks open
    // on keyframes and line up across renditions.
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
    '-force_key_frames', `expr:gte(t,n_forced*${plan.chunkSeconds})`,
  );
  if (audio) args.push('-c:a', 'aac', '-b:a', '128k', '-ac', '2');
  return [...args, ...hlsOutput(plan, rungs.length)];
}

/** Reads ffprobe's JSON (-show_streams) into what the plan needs. */
export function parseProbe(json: string): ProbedSource {
  const data = JSON.parse(json) as { streams?: Array<Record<string, unknown>> };
  const out: ProbedSource = {};
  for (const s of data.streams ?? []) {
    if (s.codec_type === 'video' && !out.video && s.codec_name) {
      const [n, d] = String(s.avg_frame_rate ?? s.r_frame_rate ?? '0/1').split('/').map(Number);
      out.video = { codec: String(s.codec_name), width: Number(s.width) || 0, height: Number(s.height) || 0, fps: d ? n / d : 0 };
    } else if (s.codec_type === 'audio' && !out.audio && s.codec_name) {
      out.audio = { codec: String(s.codec_name) };
    }
  }
  return out;
}
