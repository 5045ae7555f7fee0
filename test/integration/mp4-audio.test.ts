// Audio other than AAC, and renditions with video only or audio only (SPEC
// 4.4): real ffmpeg-made HLS chunks (2 s and a shorter last one) pushed
// through the ingest, the live master's CODECS, the clip's MP4 (ffprobe: the
// right streams, and it decodes), and a VOD promotion of the clip.
import { execFile } from 'node:child_process';
import { readdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { loadVideo } from '../../src/vod/records.js';
import { startHarness, waitFor, type Harness } from '../helpers/harness.js';

const run = promisify(execFile);
let h: Harness;
let scratch: string;

const VIDEO = ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25'];
const AUDIO = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'];
const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0'];

interface Variant {
  name: string;
  args: string[];
  /** codec_name of each stream ffprobe must find in the MP4, video first. */
  streams: string[];
  /** The CODECS attribute of the live master, as a pattern. */
  codecs: RegExp;
}

const VARIANTS: Variant[] = [
  { name: 'mp3', args: [...VIDEO, ...AUDIO, ...X264, '-c:a', 'libmp3lame', '-b:a', '96k'], streams: ['h264', 'mp3'], codecs: /^avc1\.[0-9a-f]{6},mp4a\.40\.34$/ },
  { name: 'ac3', args: [...VIDEO, ...AUDIO, ...X264, '-c:a', 'ac3', '-b:a', '96k'], streams: ['h264', 'ac3'], codecs: /^avc1\.[0-9a-f]{6},ac-3$/ },
  { name: 'eac3', args: [...VIDEO, ...AUDIO, ...X264, '-c:a', 'eac3', '-b:a', '96k'], streams: ['h264', 'eac3'], codecs: /^avc1\.[0-9a-f]{6},ec-3$/ },
  { name: 'aac', args: [...VIDEO, ...AUDIO, ...X264, '-c:a', 'aac', '-b:a', '64k'], streams: ['h264', 'aac'], codecs: /^avc1\.[0-9a-f]{6},mp4a\.40\.2$/ },
  { name: 'video only', args: [...VIDEO, ...X264, '-an'], streams: ['h264'], codecs: /^avc1\.[0-9a-f]{6}$/ },
  { name: 'audio only (AAC)', args: [...AUDIO, '-c:a', 'aac', '-b:a', '64k'], streams: ['aac'], codecs: /^mp4a\.40\.2$/ },
  { name: 'audio only (MP3)', args: [...AUDIO, '-c:a', 'libmp3lame', '-b:a', '96k'], streams: ['mp3'], codecs: /^mp4a\.40\.34$/ },
];

interface Chunk {
  file: string;
  extinf: string;
  ms: number;
}

/** 5 s of media as HLS (2 s, 2 s, 1 s chunks): the chunks of ffmpeg's own VOD playlist. */
async function makeHls(dir: string, args: string[]): Promise<Chunk[]> {
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y', ...args, '-t', '5', '-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod',
    '-hls_segment_filename', path.join(dir, 'seg_%d.ts'), path.join(dir, 'index.m3u8'),
  ]);
  const lines = (await readFile(path.join(dir, 'index.m3u8'), 'utf8')).split('\n');
  const chunks: Chunk[] = [];
  lines.forEach((line, i) => {
    const m = /^#EXTINF:([0-9.]+),/.exec(line);
    if (m) chunks.push({ file: lines[i + 1].trim(), extinf: m[1], ms: Math.round(Number(m[1]) * 1000) });
  });
  return chunks;
}

/** Pushes the chunks as a live encoder does: each chunk, then the playlist that lists it. */
async function pushLive(stream: StreamView, dir: string, chunks: Chunk[]): Promise<void> {
  for (let i = 0; i < chunks.length; i++) {
    h.clock.advance(chunks[i].ms);
    const put = await h.push(stream, chunks[i].file, await readFile(path.join(dir, chunks[i].file)));
    expect(put.statusCode, chunks[i].file).toBe(204);
    const target = Math.max(...chunks.slice(0, i + 1).map((c) => Math.ceil(c.ms / 1000)));
    const playlist = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${target}`, '#EXT-X-MEDIA-SEQUENCE:0',
      ...chunks.slice(0, i + 1).flatMap((c) => [`#EXTINF:${c.extinf},`, c.file]), ''].join('\n');
    expect((await h.push(stream, 'stream_0.m3u8', playlist)).statusCode).toBe(204);
  }
}

async function decodes(file: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-i', file, '-f', 'null', '-']);
  return stderr;
}

beforeAll(async () => {
  h = await startHarness();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'mp4-audio-'));
});
afterAll(async () => {
  await h?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe.each(VARIANTS)('$name', (variant) => {
  it('plays: probed codecs in the live master, an MP4 with those streams that decodes, and a VOD', async () => {
    const dir = path.join(scratch, variant.name.replace(/\W+/g, '-'));
    await run('mkdir', ['-p', dir]);
    const chunks = await makeHls(dir, variant.args);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect((await readdir(dir)).filter((f) => f.endsWith('.ts')).length).toBe(chunks.length);

    // Recorded a minute ago, so a clip of it is ready at once.
    h.clock.set(Date.now() - 60_000);
    const t0 = h.clock.now();
    const stream = await h.createStream({ name: `audio ${variant.name}` });
    await pushLive(stream, dir, chunks);
    const view = await waitFor(async () => {
      const s = (await h.api('GET', `/streaming/streams/${stream.id}`)).json() as StreamView;
      return s.renditions.length === 1 && s.renditions[0].codecs ? s : undefined;
    }, 'the probe of the rendition', 20_000);
    expect(view.renditions[0].codecs).toMatch(variant.codecs);

    const master = await h.get(view.hls_url);
    expect(master.statusCode).toBe(200);
    const codecs = /CODECS="([^"]+)"/.exec(master.body)?.[1];
    expect(codecs, master.body).toMatch(variant.codecs);
    if (variant.streams[0] !== 'h264') expect(master.body).not.toMatch(/RESOLUTION=/);

    const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, {
      start: Math.floor(t0 / 1000), duration: 4, vod_required: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    const clip = res.json();
    expect(clip.status).toBe('ready');

    const mp4 = await h.get(clip.mp4_master);
    expect(mp4.statusCode, mp4.body.slice(0, 200)).toBe(200);
    expect(mp4.headers['content-type']).toBe('video/mp4');
    const file = path.join(dir, 'clip.mp4');
    await writeFile(file, mp4.rawPayload);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', file]);
    const streams = (JSON.parse(stdout).streams as { codec_type: string; codec_name: string }[])
      .sort((a, b) => (a.codec_type === 'video' ? -1 : 1) - (b.codec_type === 'video' ? -1 : 1));
    expect(streams.map((s) => s.codec_name)).toEqual(variant.streams);
    expect(await decodes(file)).toBe('');

    const video = await waitFor(async () => {
      const v = await loadVideo(h.ctx, clip.video_id);
      return v && (v.status === 'ready' || v.status === 'error') ? v : undefined;
    }, 'the VOD promotion', 60_000, 100);
    expect(video.error).toBeNull();
    expect(video.status).toBe('ready');
  }, 120_000);
});
