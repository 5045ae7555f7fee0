// A ready clip's playlist answered from memory before Fastify (src/routes/
// fast-playback.ts), over a real socket: the same status, headers and bytes
// as the Fastify route gives (a query string sends a request there), for a
// plain GET, gzip, a revalidation (304) and HEAD; and never an answer the
// route would not give: a deleted or expired clip is a 404 at once.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { metrics } from '../../src/metrics.js';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
let stream: StreamView;
let port: number;

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

function ask(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const fromMemory = async () => (await metrics.playlistsFromMemory.get()).values[0]?.value ?? 0;

/** Headers that differ between any two answers (the time, the connection). */
const comparable = ({ date: _d, connection: _c, 'keep-alive': _k, ...rest }: http.IncomingHttpHeaders) => rest;

beforeAll(async () => {
  h = await startHarness();
  stream = await h.createStream({ name: 'fast', dvr_duration: 120 });
  await h.pushLadder(stream, { from: 0, to: 7, startAt: h.clock.alignToSecond() });
  await h.service.app!.listen({ port: 0, host: '127.0.0.1' });
  port = (h.service.app!.server.address() as AddressInfo).port;
});
afterAll(() => h?.close());

async function readyClip(): Promise<{ id: string; master: string; media: string }> {
  const res = await h.api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { duration: 4, start: Math.floor(h.clock.now() / 1000) - 6 });
  expect(res.statusCode, res.body).toBe(200);
  const clip = res.json();
  expect(clip.status).toBe('ready');
  const master = new URL(clip.hls_master).pathname;
  return { id: clip.id, master, media: master.replace('master', clip.renditions[0]) };
}

describe('ready clip playlists before Fastify', () => {
  it('answer as the route does: GET, gzip, 304, HEAD', async () => {
    const clip = await readyClip();
    const before = await fromMemory();
    const cases = 5;
    for (const path of [clip.master, clip.media]) {
      // The first request builds and caches it (through Fastify); the memo of the clip's existence is fresh.
      const built = await ask(path);
      expect(built.status).toBe(200);
      const variants: Array<[Record<string, string>, string]> = [
        [{}, 'GET'],
        [{ 'accept-encoding': 'gzip' }, 'GET'],
        [{ 'if-none-match': String(built.headers.etag) }, 'GET'],
        [{ 'if-modified-since': String(built.headers['last-modified']) }, 'GET'],
        [{}, 'HEAD'],
      ];
      expect(variants).toHaveLength(cases);
      for (const [headers, method] of variants) {
        const fast = await ask(path, headers, method);
        const routed = await ask(`${path}?via=route`, headers, method);
        expect(fast.status, `${method} ${JSON.stringify(headers)}`).toBe(routed.status);
        expect(comparable(fast.headers)).toEqual(comparable(routed.headers));
        expect(fast.body.equals(routed.body)).toBe(true);
      }
    }
    // Seconds later max-age has counted down, the same on both paths (the fast path makes its headers once a second).
    const earlier = (await ask(clip.media)).headers['cache-control'];
    h.clock.advance(10_000);
    const later = await ask(clip.media);
    expect(later.headers['cache-control']).not.toBe(earlier);
    expect(comparable(later.headers)).toEqual(comparable((await ask(`${clip.media}?via=route`)).headers));
    h.clock.advance(-10_000);
    // Those answers did come from the path before Fastify.
    expect(await fromMemory()).toBeGreaterThanOrEqual(before + 2 * cases + 2);
  });

  it('a deleted clip is a 404 from the next request on; so is an expired one', async () => {
    const gone = await readyClip();
    expect((await ask(gone.media)).status).toBe(200);
    expect((await ask(gone.media)).status).toBe(200);
    expect((await h.api('DELETE', `/streaming/streams/${stream.id}/clip_recording/${gone.id}`)).statusCode).toBeLessThan(300);
    expect((await ask(gone.media)).status).toBe(404);

    const old = await readyClip();
    expect((await ask(old.media)).status).toBe(200);
    const expiration = Number(await h.ctx.redis.hget(h.ctx.keys.stream.clip(stream.id, old.id), 'expiration'));
    h.clock.set((expiration + 1) * 1000);
    expect((await ask(old.media)).status).toBe(404);
  });
});
