// A whole service on the real clock, listening on 127.0.0.1, for tests that
// feed it with real encoders (ffmpeg over RTMP, SRT, a pulled HLS origin).
// Its own KEY_PREFIX and DATA_DIR, removed on close.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config.js';
import { deletePrefixAt } from '../../src/redis/prefix.js';
import { startService, type Service } from '../../src/service.js';
import { createCompany } from '../../src/tenancy/companies.js';

const run = promisify(execFile);
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A UDP port free on 127.0.0.1 now (SRT). */
export async function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Decodes every stream of an HLS or MP4 URL; returns ffmpeg's complaints ('' when none). */
export async function decodeErrors(url: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', url, '-map', '0', '-f', 'null', '-'], { timeout: 60_000 });
  return stderr.trim();
}

export async function mediaDuration(url: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', url], { timeout: 30_000 });
  return Number(stdout.trim());
}

/** A test-pattern encoder: `seconds` of 25 fps video with a tone, GOP of one second, to `output`. */
export function testEncoder(output: string[], opts: { seconds: number; size?: string; extra?: string[] }): ChildProcess {
  const args = [
    '-hide_banner', '-nostats', '-loglevel', 'error',
    '-re', '-f', 'lavfi', '-i', `testsrc2=size=${opts.size ?? '640x360'}:rate=25`,
    '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(opts.seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0',
    '-c:a', 'aac', '-b:a', '64k', '-ar', '48000', '-ac', '2',
    ...(opts.extra ?? []),
    ...output,
  ];
  return spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Resolves with the exit code and what the process printed on stderr. */
export function finished(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

export interface LiveService {
  service: Service;
  base: string;
  apiKey: string;
  prefix: string;
  api(method: string, url: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** `opts.prefix`: share another service's Redis keys (two processes of one deployment). */
export async function startLiveService(env: Record<string, string> = {}, opts: { prefix?: string } = {}): Promise<LiveService> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const prefix = opts.prefix ?? `g${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'dvr-gw-'));
  const config = loadConfig({
    ...process.env,
    RTMP_PORT: '0',
    SRT_PORT: '0',
    FINALIZE_GRACE_SECONDS: '4',
    MP4_PREBUILD: '0',
    LOG_LEVEL: 'warn',
    INGEST_HOST: '127.0.0.1',
    ...env,
    REDIS_URL: TEST_REDIS_URL,
    KEY_PREFIX: prefix,
    DATA_DIR: dataDir,
    PORT: String(port),
    PUBLIC_BASE_URL: base,
    ROLE: 'all',
  });
  const service = await startService(config);
  await service.app!.listen({ port, host: '127.0.0.1' });
  const { api_key: apiKey } = await createCompany(service.ctx, 'Gateway tests');
  const shared = opts.prefix !== undefined;
  const api: LiveService['api'] = async (method, url, body) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { authorization: `apikey ${apiKey}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return {
    service, base, apiKey, prefix, api,
    async close() {
      await service.close();
      if (!shared) await deletePrefixAt(TEST_REDIS_URL, prefix);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The stream once its DVR holds `seconds` and its renditions (exactly `renditions` of them, when given) are probed; else undefined. */
export async function dvrHolding(s: LiveService, id: number, seconds: number, renditions?: number): Promise<any> {
  const { body } = await s.api('GET', `/streaming/streams/${id}`);
  const counted = renditions === undefined ? body.renditions.length > 0 : body.renditions.length === renditions;
  const probed = counted && body.renditions.every((r: { height?: number }) => r.height);
  return probed && body.dvr_range && body.dvr_range.end - body.dvr_range.start >= seconds ? body : undefined;
}

/** The clip once it is ready. */
export function untilClipReady(s: LiveService, streamId: number, clipId: string, what: string, timeoutMs: number): Promise<any> {
  return until(what, async () => {
    const { body } = await s.api('GET', `/streaming/streams/${streamId}/clip_recording/${clipId}`);
    return body.status === 'ready' ? body : undefined;
  }, timeoutMs);
}

/** A static file server on 127.0.0.1 for a directory (an HLS origin); 404 for anything missing. */
export async function serveDirectory(dir: string): Promise<{ base: string; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const { readFile } = await import('node:fs/promises');
  const server = createServer(async (req, res) => {
    const name = decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/^\/+/, '');
    if (name.includes('..') || name.includes('/')) return void res.writeHead(404).end();
    try {
      const body = await readFile(path.join(dir, name));
      res.writeHead(200, { 'content-type': name.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    // A puller still polling keeps its keep-alive connections busy: closing the origin ends them too.
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
