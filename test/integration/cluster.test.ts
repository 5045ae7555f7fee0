// The same code on a Redis Cluster (SPEC 9): a throwaway three-node cluster,
// a stream pushed into it, clips cut and played, a VOD promoted. Each
// stream's keys share one slot, every script names every key it touches, and
// BullMQ's queues use a hash-tagged prefix, so nothing here is cross-slot.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createStream } from '../../src/dvr/streams.js';
import { startService, type Service } from '../../src/service.js';
import { createCompany } from '../../src/tenancy/companies.js';
import { loadVideo } from '../../src/vod/records.js';
import { fakeClock, fixtureChunkBytes, ladder, LADDER_RENDITIONS, livePlaylist, waitFor } from '../helpers/harness.js';

const run = promisify(execFile);
const nodes: ChildProcess[] = [];
const nodeArgs: string[][] = [];
let dir: string;
let service: Service;
let apiKey: string;
let clientId: number;
const clock = fakeClock();

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port whose cluster bus port (10,000 above it) is a port and free
 * too: a node whose bus cannot bind never joins, and `--cluster create`
 * then waits for it for ever.
 */
async function freeNodePort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 <= 65_535 && (await isFree(port + 10_000))) return port;
  }
}

async function startCluster(): Promise<string[]> {
  const addresses: string[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freeNodePort();
    const nodeDir = path.join(dir, String(port));
    await run('mkdir', ['-p', nodeDir]);
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
      '--cluster-config-file', path.join(nodeDir, 'nodes.conf'), '--dir', nodeDir, '--save', '', '--appendonly', 'no'];
    nodeArgs.push(args);
    nodes.push(spawn('redis-server', args, { stdio: 'ignore' }));
    addresses.push(`127.0.0.1:${port}`);
  }
  for (const address of addresses) {
    const [, port] = address.split(':');
    await waitFor(async () => (await run('redis-cli', ['-p', port, 'ping']).catch(() => ({ stdout: '' }))).stdout.includes('PONG'), `node ${address}`, 10_000, 50);
  }
  // Bounded: a node that cannot join fails here, with redis-cli's words, not at the hook's timeout.
  await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 120_000 });
  const [, port] = addresses[0].split(':');
  await waitFor(async () => (await run('redis-cli', ['-p', port, 'cluster', 'info'])).stdout.includes('cluster_state:ok'), 'cluster_state:ok', 10_000, 100);
  return addresses;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'dvr-cluster-'));
  const addresses = await startCluster();
  service = await startService(loadConfig({
    ...process.env, REDIS_URL: `redis://${addresses[0]}`, REDIS_CLUSTER: '1', KEY_PREFIX: 'cluster', DATA_DIR: dir,
    PUBLIC_BASE_URL: 'http://dvr.test', LOG_LEVEL: 'warn', MP4_PREBUILD: '0', ROLE: 'all',
    // No RTMP/SRT gateway: their default ports may be taken, and this test pushes over HTTP.
    RTMP_PORT: '0', SRT_PORT: '0',
  }), { clock });
  const company = await createCompany(service.ctx, 'Cluster');
  apiKey = company.api_key;
  clientId = company.client_id;
  // Three nodes agreeing on a cluster takes a few gossip rounds, slow on a machine the suite loads.
}, 180_000);

afterAll(async () => {
  await service?.close();
  for (const node of nodes) node.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

const api = (method: 'GET' | 'PUT', url: string, body?: unknown) =>
  service.app!.inject({ method, url, payload: body as object, headers: { authorization: `apikey ${apiKey}` } });
const get = (url: string) => service.app!.inject({ method: 'GET', url: new URL(url, 'http://dvr.test').pathname });

describe('on a Redis Cluster', () => {
  it('ingests, cuts, plays and promotes as on one Redis', async () => {
    const stream = await createStream(service.ctx, clientId, { name: 'Clustered' });
    clock.alignToSecond();
    const start = clock.now();
    const chunks = ladder();
    for (let i = 0; i < 8; i++) {
      clock.advance(chunks[0][i].durationMs);
      for (const v of LADDER_RENDITIONS) {
        for (const [file, body] of [[chunks[v][i].file, fixtureChunkBytes(v, i)], [`stream_${v}.m3u8`, livePlaylist(v, i)]] as const) {
          const res = await service.app!.inject({
            method: 'PUT', url: `/ingest/${stream.stream_key}/${file}`,
            headers: { 'transfer-encoding': 'chunked' }, payload: Readable.from([Buffer.from(body)]),
          });
          expect(res.statusCode).toBe(204);
        }
      }
    }
    await waitFor(async () => {
      const view = await api('GET', `/streaming/streams/${stream.id}`);
      return view.json().renditions.every((r: { height?: number }) => r.height) && view.json().renditions.length === 3;
    }, 'the probe of every rendition', 20_000, 50);
    const cut = await api('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: start / 1000 + 2, duration: 4, vod_required: true });
    expect(cut.statusCode, cut.body).toBe(200);
    const clip = cut.json();
    expect(clip).toMatchObject({ status: 'ready', renditions: ['media_1_240', 'media_2_480', 'media_3_720'] });

    const media = await get(clip.hls_master.replace('master', 'media_2_480'));
    expect(media.statusCode).toBe(200);
    const uris = media.body.split('\n').filter((l) => l.endsWith('.ts'));
    expect(uris).toHaveLength(4);
    const chunk = await get(new URL(uris[0], clip.hls_master).href);
    expect(chunk.statusCode).toBe(200);
    expect(chunk.rawPayload.equals(fixtureChunkBytes(1, 2))).toBe(true);
    const mp4 = await get(clip.mp4_master);
    expect(mp4.statusCode).toBe(200);
    expect(mp4.headers['content-type']).toBe('video/mp4');

    const video = await waitFor(async () => {
      const found = await loadVideo(service.ctx, clip.video_id);
      return found?.status === 'ready' && found;
    }, 'the VOD to be ready', 30_000, 100);
    expect(video.videos.map((v) => v.segments)).toEqual([4, 4, 4]);
  }, 60_000);

  it('answers 503 at once while the whole cluster is down, and serves again when it is back', async () => {
    const exited = nodes.map((node) => new Promise((resolve) => node.once('exit', resolve)));
    for (const node of nodes) node.kill('SIGKILL');
    await Promise.all(exited);
    const started = Date.now();
    const down = await api('GET', '/streaming/streams');
    expect(down.statusCode).toBe(503);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(down.json()).toMatchObject({ statusCode: 503, message: expect.stringContaining('retry') });

    // Back with their cluster configuration (slots) but, without persistence, empty.
    nodes.splice(0, nodes.length, ...nodeArgs.map((args) => spawn('redis-server', args, { stdio: 'ignore' })));
    const port = nodeArgs[0][1];
    await waitFor(async () => (await run('redis-cli', ['-p', port, 'cluster', 'info']).catch(() => ({ stdout: '' }))).stdout.includes('cluster_state:ok'), 'cluster_state:ok', 20_000, 100);
    // The company's key went with the data: 401, answered by a cluster that is back.
    await waitFor(async () => (await api('GET', '/streaming/streams')).statusCode === 401, 'the API to answer again', 20_000, 200);
  }, 60_000);
});
