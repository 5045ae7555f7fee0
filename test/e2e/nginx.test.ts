// The production shape, tried: Debian's nginx with deploy/nginx's config in
// front of the service. Chunks and ready playlists are served from the edge
// without reaching the service, and a clip deleted or expired stops playing
// through it (the edge asks again every EDGE_REVALIDATE_SECONDS).
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../helpers/harness.js';
import { nginxPrefix, startNginx, type Nginx } from '../helpers/nginx.js';
import { freePort, sleep, until } from '../helpers/live-service.js';

const TEMPLATE = path.join(import.meta.dirname, '../../deploy/nginx/templates/dvr.conf.template');

/** The deploy site config as the official image renders its templates (envsubst), for these ports, inside the prefix. */
async function renderSite(dir: string, edgePort: number, apiPort: number): Promise<string> {
  const site = (await readFile(TEMPLATE, 'utf8'))
    .replaceAll('${DVR_LISTEN}', `127.0.0.1:${edgePort}`)
    .replaceAll('${DVR_UPSTREAM_SERVERS}', `server 127.0.0.1:${apiPort};`)
    .replaceAll('${DVR_CACHE_DIR}', path.join(dir, 'cache'));
  expect(site).not.toMatch(/\$\{DVR_/);
  const file = path.join(dir, 'dvr.conf');
  await writeFile(file, site);
  return file;
}

describe('behind nginx with the deploy config', () => {
  let h: Harness;
  let nginx: Nginx;
  let edge: string;
  const upstream: string[] = [];

  beforeAll(async () => {
    h = await startHarness({ env: { EDGE_REVALIDATE_SECONDS: '1' } });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const apiPort = (h.app.server.address() as net.AddressInfo).port;
    h.app.server.on('request', (req: { url?: string }) => upstream.push(req.url ?? ''));
    const dir = await nginxPrefix('dvr-nginx-');
    const edgePort = await freePort();
    const site = await renderSite(dir, edgePort, apiPort);
    edge = `http://127.0.0.1:${edgePort}`;
    nginx = await startNginx(dir, `  include ${site};`, () => fetch(`${edge}/healthz`).then((r) => r.ok, () => false));
  });

  afterAll(async () => {
    await nginx?.stop();
    await h?.close();
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

  it('keeps a live playlist\'s delta update (_HLS_skip) apart from the full playlist', async () => {
    const stream = await h.createStream({ name: 'delta edge' }); // an hour: delta updates offered
    await h.pushLadder(stream, { from: 0, to: 11, startAt: h.clock.alignToSecond() });
    const path = new URL(stream.hls_url.replace('master', 'media_1_240')).pathname;
    const full = (await h.get(path)).body;
    const delta = (await h.get(`${path}?_HLS_skip=YES`)).body;
    expect(full).toContain('CAN-SKIP-UNTIL');
    expect(delta).toContain('#EXT-X-SKIP:');
    for (const [query, text] of [['', full], ['?_HLS_skip=YES', delta], ['?_HLS_skip=NO', full], ['?_HLS_skip=v2', delta], ['?x=1', full]]) {
      for (const encoding of ['gzip', 'identity']) {
        const res = await fetch(`${edge}${path}${query}`, { headers: { 'accept-encoding': encoding } });
        expect(res.status, query).toBe(200);
        expect(await res.text(), `${query} ${encoding}`).toBe(text);
      }
    }
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
        await until(`${ending}d clip's ${url} to answer 404 at the edge`, async () => ((await get(url)).status === 404 ? true : undefined), 15_000, 100);
      }
      // The 404 is cached briefly at most.
      expect((await get(media)).headers.get('cache-control')).toMatch(/max-age=[0-9]$/);
    }
  });
});
