// RTMPS ingest on real parts: a self-signed certificate made here, nginx ends
// TLS with its stream module and passes the bytes on to nginx-rtmp; ffmpeg
// publishes `-f flv rtmps://…/in/KEY` (it does not verify certificates). The
// publish fills the DVR as over RTMP; a wrong key is refused; nobody can play
// a stream over RTMPS, although the packager plays it over loopback RTMP.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectClipPlays, pastAndLiveClips } from '../helpers/live-checks.js';
import { dvrHolding, finished, freePort, mediaDuration, startLiveService, testEncoder, until, type LiveService } from '../helpers/live-service.js';

const run = promisify(execFile);
const CHUNK_S = 1;
let s: LiveService;
let rtmpPort: number;
let rtmpsPort: number;
let certDir: string;

beforeAll(async () => {
  certDir = await mkdtemp(path.join(os.tmpdir(), 'dvr-rtmps-'));
  const key = path.join(certDir, 'key.pem');
  const cert = path.join(certDir, 'cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', key, '-out', cert]);
  rtmpPort = await freePort();
  rtmpsPort = await freePort();
  s = await startLiveService({
    RTMP_PORT: String(rtmpPort), RTMPS_PORT: String(rtmpsPort), RTMPS_CERT_FILE: cert, RTMPS_KEY_FILE: key, GATEWAY_CHUNK_SECONDS: String(CHUNK_S),
  });
}, 30_000);

afterAll(async () => {
  await s?.close();
  if (certDir) await rm(certDir, { recursive: true, force: true });
}, 30_000);

const view = async (id: number) => (await s.api('GET', `/streaming/streams/${id}`)).body;

function publish(url: string, seconds: number) {
  return finished(testEncoder(['-f', 'flv', url], { seconds }));
}

/** Plays `seconds` of a live RTMP(S) URL; exits non-zero when the server refuses the play. */
function play(url: string, seconds: number) {
  const child = spawn('ffmpeg', ['-hide_banner', '-nostats', '-loglevel', 'error', '-rw_timeout', '10000000', '-rtmp_live', 'live', '-i', url,
    '-t', String(seconds), '-f', 'null', '-'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return finished(child).finally(() => clearTimeout(timer));
}

describe('RTMPS publish', () => {
  it('publishes over TLS: the DVR fills, the source is rtmp, a clip plays; the stream shows its rtmps URL', async () => {
    const stream = (await s.api('POST', '/streaming/streams', { name: 'obs over tls' })).body;
    const key = stream.push_url.split('/').pop();
    expect(stream.push_url_rtmps).toBe(`rtmps://127.0.0.1:${rtmpsPort}/in/${key}`);
    expect(stream.push_url).toBe(`rtmp://127.0.0.1:${rtmpPort}/in/${key}`);
    const enc = publish(stream.push_url_rtmps, 12);
    const body = await until('6 s of DVR', () => dvrHolding(s, stream.id, 6), 30_000);
    expect(body).toMatchObject({ live: true, stream_source_type: 'rtmp', ingest_error: null });
    expect(body.renditions.map((r: { name: string }) => r.name)).toEqual(['media_1_360']);
    const { past, ready } = await pastAndLiveClips(s, stream.id, 'the clip from now to be ready');
    for (const clip of [past.body, ready]) {
      await expectClipPlays(clip, 1, CHUNK_S);
      expect(await mediaDuration(clip.mp4_master)).toBeGreaterThanOrEqual(clip.duration - 0.1);
    }
    expect((await enc).code).toBe(0);
  }, 90_000);
});

describe('RTMPS refusals', () => {
  it('a wrong key is refused at connect time', async () => {
    const result = await publish(`rtmps://127.0.0.1:${rtmpsPort}/in/${'x'.repeat(24)}`, 3);
    expect(result.code).not.toBe(0);
  }, 30_000);

  it('a live stream cannot be played over RTMPS, while the packager\'s loopback RTMP plays it', async () => {
    const stream = (await s.api('POST', '/streaming/streams', { name: 'watched' })).body;
    const enc = publish(stream.push_url_rtmps, 25);
    await until('2 s of DVR', () => dvrHolding(s, stream.id, 2), 30_000);
    // The same key and application over plain RTMP from 127.0.0.1 plays: the stream is
    // there to be read, so the refusal below is the TLS port's, not an empty stream.
    const loopback = await play(stream.push_url, 2);
    expect(loopback.code, loopback.stderr).toBe(0);
    const overTls = await play(stream.push_url_rtmps, 2);
    expect(overTls.code).not.toBe(0);
    // The publisher was not disturbed by either.
    const before = (await view(stream.id)).dvr_range.end;
    await until('the publish to keep feeding', async () => (await view(stream.id)).dvr_range.end > before, 15_000);
    expect((await view(stream.id)).stream_source_type).toBe('rtmp');
    expect((await enc).code).toBe(0);
  }, 60_000);
});
