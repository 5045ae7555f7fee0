// SRT ingest on real parts: ffmpeg publishes `-f mpegts srt://…?streamid=KEY`
// to one UDP port for every stream, with a passphrase; the relay routes it by
// stream id to a libsrt listener of the packager. Refusals happen in the
// handshake and store nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectClipPlays, pastAndLiveClips } from '../helpers/live-checks.js';
import {
  decodeErrors, dvrHolding, finished, freeUdpPort, startLiveService, testEncoder, until, type LiveService,
} from '../helpers/live-service.js';

const CHUNK_S = 1;
const PASSPHRASE = 'correct horse battery';
let s: LiveService;
let srtPort: number;

beforeAll(async () => {
  srtPort = await freeUdpPort();
  s = await startLiveService({ SRT_PORT: String(srtPort), SRT_PASSPHRASE: PASSPHRASE, GATEWAY_CHUNK_SECONDS: String(CHUNK_S) });
}, 30_000);

afterAll(async () => {
  await s?.close();
}, 30_000);

const view = async (id: number) => (await s.api('GET', `/streaming/streams/${id}`)).body;

function publish(url: string, seconds: number, size?: string) {
  const child = testEncoder(['-f', 'mpegts', url], { seconds, size });
  return finished(child);
}

const withPassphrase = (url: string, passphrase = PASSPHRASE) => `${url}&passphrase=${encodeURIComponent(passphrase)}`;

const waitForDvr = (id: number, seconds: number, renditions: number) =>
  until(`${seconds} s of DVR in ${renditions} renditions`, () => dvrHolding(s, id, seconds, renditions), 70_000);

async function clipsPlay(id: number, renditions: number) {
  const { past, ready } = await pastAndLiveClips(s, id, 'the clip from now');
  for (const clip of [past.body, ready]) await expectClipPlays(clip, renditions, CHUNK_S);
}

describe('SRT publish', () => {
  it('transcode "source" through the one port, with the passphrase; clips play', async () => {
    const stream = (await s.api('POST', '/streaming/streams', { name: 'srt' })).body;
    expect(stream.push_url_srt).toBe(`srt://127.0.0.1:${srtPort}?streamid=${stream.push_url.split('/').pop()}`);
    const enc = publish(withPassphrase(stream.push_url_srt), 13);
    const body = await waitForDvr(stream.id, 7, 1);
    expect(body).toMatchObject({ live: true, stream_source_type: 'srt' });
    await clipsPlay(stream.id, 1);
    expect((await enc).code).toBe(0);
  }, 90_000);

  it('HEVC as an encoder sends it over SRT: packaged as is (hvc1 in CODECS), clips and their MP4 play', async () => {
    const stream = (await s.api('POST', '/streaming/streams', { name: 'srt hevc' })).body;
    const enc = finished(testEncoder(['-f', 'mpegts', withPassphrase(stream.push_url_srt)], {
      seconds: 12, extra: ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'keyint=25:min-keyint=25:scenecut=0:log-level=error'],
    }));
    const body = await waitForDvr(stream.id, 6, 1);
    expect(body.renditions[0].codecs).toMatch(/^(hvc1|hev1)\./);
    await clipsPlay(stream.id, 1);
    expect((await enc).code).toBe(0);
  }, 90_000);

  it('transcode "abr": a ladder of the source height and 240p, while another stream publishes on the same port', async () => {
    const ladder = (await s.api('POST', '/streaming/streams', { name: 'srt ladder', transcode: 'abr' })).body;
    const plain = (await s.api('POST', '/streaming/streams', { name: 'srt beside' })).body;
    // A small source keeps the ladder cheap on a shared machine: 270p and 240p.
    const a = publish(withPassphrase(ladder.push_url_srt), 24, '480x270');
    const b = publish(withPassphrase(plain.push_url_srt), 10);
    await waitForDvr(plain.id, 4, 1);
    const body = await waitForDvr(ladder.id, 5, 2);
    expect(body.renditions.map((r: { name: string }) => r.name)).toEqual(['media_1_240', 'media_2_270']);
    for (const r of body.renditions) expect(r.keyframeAligned).toBe(true);
    // (The full clip checks of a ladder run in the RTMP test; here the ladder's clip must play cleanly.)
    const clip = await s.api('PUT', `/streaming/streams/${ladder.id}/clip_recording`, { duration: 2, start: body.dvr_range.end - 4 });
    expect(clip.body.renditions).toHaveLength(2);
    expect(await decodeErrors(clip.body.hls_master)).toBe('');
    expect(await decodeErrors(clip.body.mp4_master)).toBe('');
    await Promise.all([a, b]);
  }, 120_000);
});

describe('SRT refusals: in the handshake, nothing stored, other streams unaffected', () => {
  it('no stream id, a wrong one, an inactive stream, no passphrase, a wrong passphrase', async () => {
    const good = (await s.api('POST', '/streaming/streams', { name: 'good' })).body;
    const idle = (await s.api('POST', '/streaming/streams', { name: 'idle' })).body;
    expect((await s.api('PATCH', `/streaming/streams/${idle.id}`, { active: false })).status).toBe(200);
    const victim = (await s.api('POST', '/streaming/streams', { name: 'victim' })).body;
    const live = publish(withPassphrase(good.push_url_srt), 30);
    await waitForDvr(good.id, 2, 1);
    const refused = await Promise.all([
      publish(withPassphrase(`srt://127.0.0.1:${srtPort}?latency=120000`), 3),
      publish(withPassphrase(`srt://127.0.0.1:${srtPort}?streamid=${'y'.repeat(24)}`), 3),
      publish(withPassphrase(idle.push_url_srt), 3),
      publish(victim.push_url_srt, 3),
      publish(withPassphrase(victim.push_url_srt, 'not the passphrase'), 3),
    ]);
    for (const r of refused) {
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/reject|Connection setup failure|Input\/output error/i);
    }
    for (const id of [idle.id, victim.id]) {
      const seen = await view(id);
      expect(seen.dvr_range).toBeNull();
      // A caller libsrt refused (passphrase) was admitted by its stream id first:
      // it is never shown as the stream's source, and leaves no key behind.
      expect(seen.stream_source_type).toBeNull();
      expect((await s.service.ctx.redis.keys(`${s.prefix}:{s${id}}*`)).filter((k) => !/:meta$/.test(k))).toEqual([]);
    }
    const before = (await view(good.id)).dvr_range.end;
    await until('the good stream to keep growing', async () => (await view(good.id)).dvr_range.end > before, 15_000);
    expect((await live).code).toBe(0);
  }, 90_000);
});
