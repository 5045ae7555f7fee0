// The production shape, tried: Debian's nginx with deploy/nginx's config in
// front of the service. Chunks and ready playlists are served from the edge
// without reaching the service, and a clip deleted or expired stops playing
// through it (the edge asks again every EDGE_REVALIDATE_SECONDS).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { startHarness, type Harness } from '../helpers/harness.js';

const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
const TEMPLATE = path.join(import.meta.dirname, '../../deploy/nginx/templates/dvr.conf.template');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The deploy config as the official image would render it, for these ports, inside a prefix of its own. */
async function renderNginx(dir: string, edgePort: number, apiPort: number): Promise<string> {
  const site = (await readFile(TEMPLATE, 'utf8'))
    .replaceAll('${DVR_LISTEN}', `127.0.0.1:${edgePort}`)
    .replaceAll('${DVR_UPSTREAM_SERVERS}', `server 127.0.0.1:${apiPort};`)
    .replaceAll('${DVR_CACHE_DIR}', path.join(dir, 'cache'));
  expect(site).not.toMatch(/\$\{DVR_/);
  await writeFile(path.join(dir, 'dvr.conf'), site);
  const main = `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/dvr.conf;
}
`;
  const conf = path.join(dir, 'nginx.conf');
  await writeFile(conf, main);
  return conf;
}

describe('behind nginx with the deploy config', () => {
  let h: Harness;
  let nginx: ChildProcess;
  let dir: string;
  let edge: string;
  const upstream: string[] = [];

  beforeAll(async () => {
    h = await startHarness({ env: { EDGE_REVALIDATE_SECONDS: '1' } });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const apiPort = (h.app.server.address() as net.AddressInfo).port;
    h.app.server.on('request', (req: { url?: string }) => upstream.push(req.url ?? ''));
    dir = await mkdtemp(path.join(os.tmpdir(), 'dvr-nginx-'));
    // nginx's workers drop root: they must reach the cache and temp paths.
    await chmod(dir, 0o755);
    const edgePort = await freePort();
    const conf = await renderNginx(dir, edgePort, apiPort);
    nginx = spawn(NGINX, ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    nginx.stderr!.on('data', (d) => (stderr += d));
    edge = `http://127.0.0.1:${edgePort}`;
    await until('nginx to listen', async () => {
      if (nginx.exitCode !== null) throw new Error(`nginx exited: ${stderr} ${await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '')}`);
      return fetch(`${edge}/healthz`).then((r) => (r.ok ? true : undefined), () => undefined);
    }, 15_000);
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((r) => nginx.once('exit', r));
      nginx.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (nginx.exitCode === null) nginx.kill('SIGKILL');
    }
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const get = (url: string, headers: Record<string, string> = {}) => fetch(`${edge}${new URL(url).pathname}`, { headers });
  const hitsOf = (url: string) => upstream.filter((u) => u === new URL(url).pathname).length;

  async function readyClip(stream: { id: number }) {
    const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { duration: 4, start: Math.floor(h.clock.now() / 1000) - 10 });
    expect(res.statusCode, res.body).toBe(200);
    const clip = res.json();
    expect(clip.status).toBe('ready');
    return clip as { id: string; hls_master: string; expiration: number };
  }

  it('serves chunks and ready playlists from the edge: the second request does not reach the service', async () => {
    const stream = await h.createStream({ name: 'edge' });
    await h.pushLadder(stream, { from: 0, to: 11, startAt: h.clock.alignToSecond() - 12_000 });
    const clip = await readyClip(stream);
    const media = clip.hls_master.replace('master', 'media_1_240');
    const first = await get(media);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    const text = await first.text();
    const second = await get(media);
    expect(second.headers.get('x-cache-status')).toBe('HIT');
    expect(await second.text()).toBe(text);
    expect(hitsOf(media)).toBe(1);

    const chunk = new URL(text.split('\n').find((l) => l.endsWith('.ts'))!, media).href;
    const direct = (await h.get(chunk)).rawPayload;
    const a = await get(chunk);
    expect(a.headers.get('x-cache-status')).toBe('MISS');
    expect(Buffer.from(await a.arrayBuffer()).equals(direct)).toBe(true);
    const b = await get(chunk);
    expect(b.headers.get('x-cache-status')).toBe('HIT');
    expect(b.headers.get('cache-control')).toMatch(/immutable/);
    expect(Buffer.from(await b.arrayBuffer()).equals(direct)).toBe(true);
    expect(hitsOf(chunk)).toBe(1);

    // gzip is a variant of its own at the edge, and decompresses to the same text.
    const zipped = await fetch(`${edge}${new URL(media).pathname}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(zipped.status).toBe(200);
    // fetch decompresses: the text must be the same as the plain one.
    expect(await zipped.text()).toBe(text);
    const raw = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
      const req = (net.connect(Number(new URL(edge).port), '127.0.0.1') as net.Socket);
      const parts: Buffer[] = [];
      req.on('data', (d) => parts.push(d));
      req.on('end', () => {
        const all = Buffer.concat(parts);
        const split = all.indexOf('\r\n\r\n');
        const head = all.subarray(0, split).toString();
        resolve({ encoding: /content-encoding: *(\S+)/i.exec(head)?.[1], body: all.subarray(split + 4) });
      });
      req.on('error', reject);
      req.write(`GET ${new URL(media).pathname} HTTP/1.0\r\nHost: edge\r\nAccept-Encoding: gzip\r\n\r\n`);
    });
    expect(raw.encoding).toBe('gzip');
    expect(gunzipSync(raw.body).toString()).toBe(text);

    // Past s-maxage the edge asks again: a 304, no bytes sent again.
    // nginx counts in whole seconds: s-maxage=1 may last up to 2 s.
    await sleep(2500);
    const again = await get(chunk);
    expect(again.headers.get('x-cache-status')).toBe('REVALIDATED');
    expect(Buffer.from(await again.arrayBuffer()).equals(direct)).toBe(true);
  });

  it('live playlists stay at the edge for a second only', async () => {
    const stream = await h.createStream({ name: 'live edge' });
    await h.pushLadder(stream, { from: 0, to: 3 });
    const res = await get(stream.hls_url.replace('master', 'media_1_240'));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=1');
  });

  it('a deleted clip, and an expired one, stop playing through the edge', async () => {
    const stream = await h.createStream({ name: 'gone' });
    await h.pushLadder(stream, { from: 0, to: 11, startAt: h.clock.alignToSecond() - 12_000 });
    for (const ending of ['delete', 'expire'] as const) {
      const clip = await readyClip(stream);
      const media = clip.hls_master.replace('master', 'media_2_480');
      const text = await (await get(media)).text();
      const chunk = new URL(text.split('\n').find((l) => l.endsWith('.ts'))!, media).href;
      expect((await get(chunk)).status).toBe(200);
      expect((await get(chunk)).headers.get('x-cache-status')).toBe('HIT');
      if (ending === 'delete') {
        expect((await h.api('DELETE', `/streaming/streams/${stream.id}/clip_recording/${clip.id}`)).statusCode).toBe(204);
      } else {
        h.clock.set(clip.expiration * 1000 + 1000);
      }
      for (const url of [clip.hls_master, media, chunk]) {
        await until(`${ending}d clip's ${url} to answer 404 at the edge`, async () => ((await get(url)).status === 404 ? true : undefined), 15_000);
      }
      // The 404 is cached briefly at most.
      expect((await get(media)).headers.get('cache-control')).toMatch(/max-age=[0-9]$/);
    }
  });
});
