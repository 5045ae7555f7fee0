// Real ffmpeg makes the chunks; real ffprobe reads them.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeChunk } from '../../src/dvr/probe.js';

const run = promisify(execFile);
let dir: string;

/** An H.264 + AAC transport stream with the given size, GOP and profile. */
async function makeTs(name: string, opts: { size: string; gop: number; seconds: number; profile: string }): Promise<Buffer> {
  const file = path.join(dir, name);
  await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${opts.size}:rate=25`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(opts.seconds),
    // ultrafast turns off every High tool, so x264 would signal Baseline anyway.
    '-c:v', 'libx264', '-preset', opts.profile === 'baseline' ? 'ultrafast' : 'veryfast', '-profile:v', opts.profile, '-pix_fmt', 'yuv420p',
    '-g', String(opts.gop), '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts', file,
  ]);
  return readFile(file);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'probe-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('probeChunk', () => {
  it('reports codecs, size, frame rate, duration and a keyframe at the start', async () => {
    const bytes = await makeTs('good.ts', { size: '640x360', gop: 50, seconds: 2, profile: 'baseline' });
    const probe = await probeChunk(bytes);
    expect(probe).toMatchObject({
      videoCodec: 'avc1.42c01e',
      audioCodec: 'mp4a.40.2',
      codecs: 'avc1.42c01e,mp4a.40.2',
      width: 640,
      height: 360,
      frameRate: 25,
      keyframeAtStart: true,
    });
    expect(probe.durationSec).toBeGreaterThan(1.8);
    expect(probe.durationSec).toBeLessThan(2.3);
  });

  it('reads the High profile and the level of a larger picture', async () => {
    const bytes = await makeTs('high.ts', { size: '1280x720', gop: 25, seconds: 1, profile: 'high' });
    const probe = await probeChunk(bytes);
    expect(probe.videoCodec).toMatch(/^avc1\.6400(1f|20)$/);
    expect(probe).toMatchObject({ width: 1280, height: 720, keyframeAtStart: true });
  });

  it('says so when a chunk opens mid-GOP', async () => {
    // Keyframes at 0 s and 2 s; dropping the first quarter of the transport
    // packets leaves a chunk that opens on a P-frame yet still holds an SPS later.
    const whole = await makeTs('long-gop.ts', { size: '320x240', gop: 50, seconds: 4, profile: 'baseline' });
    const packets = Math.floor(whole.length / 188);
    const cut = whole.subarray(Math.floor(packets / 4) * 188);
    const probe = await probeChunk(cut);
    expect(probe.keyframeAtStart).toBe(false);
    expect(probe.width).toBe(320);
  });

  it('rejects bytes that are not media, and leaves no temp file behind', async () => {
    const before = (await import('node:fs')).readdirSync(os.tmpdir()).filter((f) => f.startsWith(`chunk-${process.pid}-`));
    await expect(probeChunk(Buffer.from('not a transport stream at all'))).rejects.toThrow(/ffprobe/);
    const after = (await import('node:fs')).readdirSync(os.tmpdir()).filter((f) => f.startsWith(`chunk-${process.pid}-`));
    expect(after).toEqual(before);
  });
});
