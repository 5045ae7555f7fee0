// Pure parts of the gateways: the ladder and the packaging argv, the SRT
// handshake fields the relay reads and writes, which origin addresses are
// private, the nginx configuration (checked by nginx itself, `nginx -t`).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nginxConfig, RTMPS_PROXY_ADDRESS, rtmpModulePath, streamModulePath } from '../../src/gateways/nginx-rtmp.js';
import { ladderFor, packagingArgs, parseProbe, unpackageable } from '../../src/gateways/ladder.js';
import { isPrivateAddress, pullUrls } from '../../src/gateways/pull-origin.js';
import {
  cookieOf, handshakeType, HS_CONCLUSION, HS_INDUCTION, inductionResponse, isHandshake, rejection, REJECT_FORBIDDEN, socketIdOf,
  streamIdOf, streamKeyOf, withCookie,
} from '../../src/gateways/srt-handshake.js';

describe('ABR ladder', () => {
  it('the source height and lower rungs down to 240p, never upscaled', () => {
    expect(ladderFor(1080).map((r) => r.height)).toEqual([1080, 720, 480, 240]);
    expect(ladderFor(720).map((r) => r.height)).toEqual([720, 480, 240]);
    expect(ladderFor(361).map((r) => r.height)).toEqual([360, 240]);
    expect(ladderFor(240).map((r) => r.height)).toEqual([240]);
    expect(ladderFor(144).map((r) => r.height)).toEqual([144]);
  });

  it('aligned keyframes in every rung, one variant per rung, audio in each when there is audio', () => {
    const source = { video: { codec: 'h264', width: 1280, height: 720, fps: 30 }, audio: { codec: 'aac' } };
    const args = packagingArgs({ input: 'pipe:0', target: 'http://127.0.0.1:1/ingest/k/', runId: 'r1', chunkSeconds: 2, transcode: 'abr', source });
    expect(args).toContain('expr:gte(t,n_forced*2)');
    expect(args[args.indexOf('-g') + 1]).toBe('60');
    expect(args[args.indexOf('-sc_threshold') + 1]).toBe('0');
    expect(args[args.indexOf('-var_stream_map') + 1]).toBe('v:0,a:0 v:1,a:1 v:2,a:2');
    expect(args.at(-1)).toBe('http://127.0.0.1:1/ingest/k/stream_%v.m3u8');
    const videoOnly = packagingArgs({ input: 'pipe:0', target: 't/', runId: 'r', chunkSeconds: 1, transcode: 'abr', source: { video: source.video } });
    expect(videoOnly[videoOnly.indexOf('-var_stream_map') + 1]).toBe('v:0 v:1 v:2');
  });

  it('"source" is a stream copy of one rendition, chunk names unique to the run', () => {
    const args = packagingArgs({ input: 'pipe:0', target: 't/', runId: 'rX', chunkSeconds: 2, transcode: 'source',
      source: { video: { codec: 'hevc', width: 1, height: 1, fps: 25 }, audio: { codec: 'aac' } } });
    expect(args.join(' ')).toContain('-c copy');
    expect(args).not.toContain('-var_stream_map');
    expect(args).toContain('t/rX_%v_%05d.ts');
  });

  it('says why a source cannot be packaged', () => {
    expect(unpackageable({}, 'source')).toMatch(/no audio or video/);
    expect(unpackageable({ video: { codec: 'vp6f', width: 1, height: 1, fps: 1 } }, 'source')).toMatch(/video codec vp6f/);
    expect(unpackageable({ audio: { codec: 'speex' } }, 'source')).toMatch(/audio codec speex/);
    expect(unpackageable({ audio: { codec: 'aac' } }, 'abr')).toMatch(/needs a video/);
    expect(unpackageable({ video: { codec: 'h264', width: 1, height: 1, fps: 1 }, audio: { codec: 'aac' } }, 'source')).toBeNull();
  });

  it('reads ffprobe JSON', () => {
    const json = JSON.stringify({ streams: [
      { codec_type: 'audio', codec_name: 'aac' },
      { codec_type: 'video', codec_name: 'h264', width: 640, height: 360, avg_frame_rate: '30000/1001' },
    ] });
    const p = parseProbe(json);
    expect(p.audio).toEqual({ codec: 'aac' });
    expect(p.video).toMatchObject({ codec: 'h264', height: 360 });
    expect(p.video!.fps).toBeCloseTo(29.97, 2);
  });
});

/** A caller's handshake packet as libsrt sends it, with an SID extension. */
function handshake(type: number, sid?: string, cookie = 0): Buffer {
  const ext: Buffer[] = [];
  if (sid !== undefined) {
    const raw = Buffer.alloc(Math.ceil(Buffer.byteLength(sid) / 4) * 4);
    raw.write(sid);
    const words = Buffer.alloc(raw.length);
    for (let w = 0; w < raw.length / 4; w++) for (let b = 0; b < 4; b++) words[w * 4 + b] = raw[w * 4 + (3 - b)];
    const head = Buffer.alloc(4);
    head.writeUInt16BE(5, 0);
    head.writeUInt16BE(raw.length / 4, 2);
    ext.push(head, words);
  }
  const p = Buffer.concat([Buffer.alloc(64), ...ext]);
  p.writeUInt16BE(0x8000, 0);
  p.writeUInt32BE(4, 16);
  p.writeUInt32BE(type, 36);
  p.writeUInt32BE(0x1234567, 40);
  p.writeUInt32BE(cookie, 44);
  return p;
}

describe('SRT handshake', () => {
  it('reads the stream id of a conclusion, words stored backwards', () => {
    const p = handshake(HS_CONCLUSION, 'AbCdEfGhIjKlMnOpQrStUvWx1');
    expect(isHandshake(p)).toBe(true);
    expect(handshakeType(p)).toBe(HS_CONCLUSION);
    expect(streamIdOf(p)).toBe('AbCdEfGhIjKlMnOpQrStUvWx1');
    expect(streamIdOf(handshake(HS_CONCLUSION))).toBe('');
  });

  it('the key in SRT access-control syntax; readers get none', () => {
    expect(streamKeyOf('plainkey')).toBe('plainkey');
    expect(streamKeyOf('#!::r=thekey,m=publish')).toBe('thekey');
    expect(streamKeyOf('#!::m=publish,r=thekey')).toBe('thekey');
    expect(streamKeyOf('#!::r=thekey,m=request')).toBeNull();
  });

  it('answers an induction as an HSv5 listener, swaps cookies, rejects', () => {
    const req = handshake(HS_INDUCTION);
    const res = inductionResponse(req, 0xdeadbeef, 42);
    expect(res.readUInt32BE(16)).toBe(5);
    expect(res.readUInt16BE(22)).toBe(0x4a17);
    expect(res.readUInt32BE(12)).toBe(0x1234567); // to the caller's socket
    expect(cookieOf(res)).toBe(0xdeadbeef);
    expect(socketIdOf(res)).toBe(42);
    const swapped = withCookie(handshake(HS_CONCLUSION, 'k', 7), 99);
    expect(cookieOf(swapped)).toBe(99);
    expect(streamIdOf(swapped)).toBe('k');
    expect(handshakeType(rejection(req, REJECT_FORBIDDEN))).toBe(2403);
    expect(isHandshake(Buffer.from([0x00, 1, 2, 3]))).toBe(false);
  });
});

describe('pull origins', () => {
  it('private, loopback, link-local, CGNAT, unique-local and mapped addresses are private', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1', '224.0.0.1']) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '2001:4860:4860::8888', '::ffff:1.1.1.1']) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('uri: space-separated http(s) URLs only', () => {
    expect(pullUrls(' https://a.example/x.m3u8  http://b.example/y.m3u8 ').map(String)).toEqual(['https://a.example/x.m3u8', 'http://b.example/y.m3u8']);
    expect(() => pullUrls('ftp://a/x.m3u8')).toThrow(/not http\(s\)/);
    expect(() => pullUrls('nope')).toThrow(/not a URL/);
    expect(() => pullUrls('')).toThrow(/needs a uri/);
  });
});

describe('nginx configuration', () => {
  const run = promisify(execFile);
  const base = { module: '/m/ngx_rtmp_module.so', dir: '/d', host: '0.0.0.0', port: 1935, callbackBase: 'http://127.0.0.1:9', controlSocket: '/d/c.sock' };
  const tls = { module: '/m/ngx_stream_module.so', port: 1936, certFile: '/etc/c ert.pem', keyFile: '/etc/key.pem' };

  it('without a certificate: RTMP alone, no stream module, no TLS port', () => {
    const conf = nginxConfig(base);
    expect(conf).toContain('load_module /m/ngx_rtmp_module.so;');
    expect(conf).not.toContain('ngx_stream_module');
    expect(conf).not.toMatch(/\bstream \{|ssl/);
    expect(conf).toMatch(/allow play 127\.0\.0\.1;\s+deny play all;/);
  });

  it('with one: TLS on RTMPS_PORT passed on to the RTMP port from an address that may not play', () => {
    const conf = nginxConfig({ ...base, host: '127.0.0.1', tls });
    expect(conf).toContain('load_module /m/ngx_stream_module.so;');
    const stream = conf.slice(conf.indexOf('stream {'), conf.indexOf('http {'));
    expect(stream).toContain('listen 127.0.0.1:1936 ssl;');
    expect(stream).toContain('ssl_certificate "/etc/c ert.pem";');
    expect(stream).toContain('ssl_certificate_key "/etc/key.pem";');
    expect(stream).toContain('proxy_pass 127.0.0.1:1935;');
    expect(stream).toContain(`proxy_bind ${RTMPS_PROXY_ADDRESS};`);
    expect(RTMPS_PROXY_ADDRESS).not.toBe('127.0.0.1');
    expect(conf).toContain('allow play 127.0.0.1;');
  });

  it.runIf(rtmpModulePath() && streamModulePath())('nginx accepts both', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dvr-nginx-t-'));
    try {
      const keyFile = path.join(dir, 'key.pem');
      const certFile = path.join(dir, 'cert.pem');
      await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', keyFile, '-out', certFile]);
      const real = { ...base, module: rtmpModulePath()!, dir, controlSocket: path.join(dir, 'c.sock') };
      for (const conf of [nginxConfig(real), nginxConfig({ ...real, tls: { ...tls, module: streamModulePath()!, certFile, keyFile } })]) {
        const file = path.join(dir, 'nginx.conf');
        await writeFile(file, conf);
        const { stderr } = await run('nginx', ['-t', '-q', '-p', `${dir}/`, '-c', file, '-e', 'stderr']);
        expect(stderr).toBe('');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
