// A whole service (api + workers, role "all") on a real Redis, driven through
// app.inject(), with a fake clock and an encoder that replays the fixture
// ladder exactly the way ffmpeg pushes HLS. Integration tests build on this,
// usually one harness per test file; every harness has its own KEY_PREFIX and
// deletes its keys when closed.
//
// Time: the service reads the fake clock, but Redis TTLs and BullMQ delays
// follow the real clock. The fake clock starts at the real time (rounded down
// to a whole second); keep it at or after the real time when keys must live,
// and expect a recording clip to finalize only after its end has passed in
// real time too (the finalize worker then re-checks every second).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { deletePrefix, scanKeys } from '../../src/redis/prefix.js';
import { ensureFixtures, fixtures } from '../../fixtures/make.js';
import { loadConfig } from '../../src/config.js';
import type { Clock, Context } from '../../src/context.js';
import { tilesSettled } from '../../src/thumbs/tiles.js';
import type { StreamView } from '../../src/dvr/streams.js';
import { startService, type Service } from '../../src/service.js';
import { createCompany } from '../../src/tenancy/companies.js';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** What PUBLIC_BASE_URL is in tests; `get()` strips it from absolute URLs. */
export const BASE_URL = 'http://dvr.test';
/** Renditions of the fixture ladder, lowest first: 240p, 480p, 720p. */
export const LADDER_RENDITIONS = [0, 1, 2] as const;

export interface FakeClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
  /** Moves forward to the next whole second (stays on one) and returns it: clip starts are whole seconds. */
  alignToSecond(): number;
}

export function fakeClock(startMs = Math.floor(Date.now() / 1000) * 1000): FakeClock {
  let now = startMs;
  return {
    now: () => now,
    set: (ms) => void (now = ms),
    advance: (ms) => void (now += ms),
    alignToSecond: () => (now = Math.ceil(now / 1000) * 1000),
  };
}

export interface Company {
  client_id: number;
  api_key: string;
}

export interface HarnessOptions {
  /** Extra environment for loadConfig, e.g. { MAX_CHUNK_BYTES: '2048' }. */
  env?: Record<string, string>;
  /** Default: 't' + random base36, so test files never see each other's keys. */
  keyPrefix?: string;
  /** The service's logger (default: the service's own, at LOG_LEVEL); to capture what is logged. */
  log?: Logger;
}

export interface PushOptions {
  /** First and last fixture chunk index to push (0…11), inclusive. */
  from: number;
  to: number;
  /** Set the clock here (unix ms) first: the first chunk pushed starts at this time. */
  startAt?: number;
  /** Which renditions to push (default all three): leave one out to play a rung that died. */
  renditions?: number[];
  /** Push master.m3u8 after the first round (default true), as ffmpeg's -master_pl_name does. */
  master?: boolean;
}

export interface PushResult {
  /** Unix ms at which the first pushed chunk starts and the last one ends. */
  start: number;
  end: number;
}

export interface Harness {
  service: Service;
  app: FastifyInstance;
  ctx: Context;
  clock: FakeClock;
  company: Company;
  prefix: string;
  /** Creates a company besides the default one (for tenancy tests). */
  newCompany(name?: string): Promise<Company>;
  /** POST /streaming/streams; throws unless 201. */
  createStream(body?: Record<string, unknown>, apiKey?: string): Promise<StreamView>;
  /** Management API call with `Authorization: apikey KEY` (the company's key by default; null: no header). */
  api(method: string, url: string, body?: unknown, apiKey?: string | null): Promise<LightMyRequestResponse>;
  /** Public GET (playback, ops), by path or by an absolute URL under BASE_URL. */
  get(url: string, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** One encoder request to the stream's push_url_hls, sent as ffmpeg sends it (chunked, no content type). */
  push(stream: StreamView, file: string, body: Buffer | string, method?: 'PUT' | 'POST' | 'DELETE'): Promise<LightMyRequestResponse>;
  /** Replays fixture chunks from..to of every rendition as a live ffmpeg would (see pushLadder below). */
  pushLadder(stream: StreamView, opts: PushOptions): Promise<PushResult>;
  /** Names of this harness's keys (not the BullMQ queue keys), sorted. */
  keys(pattern?: string): Promise<string[]>;
  /**
   * Every key of this harness with a digest of its value, once running probes
   * have ended: equal snapshots mean nothing was written in between.
   */
  snapshot(): Promise<Map<string, string>>;
  /** Closes the service and deletes every key of the prefix. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------- fixtures

interface FixtureChunk {
  file: string;
  /** The EXTINF text as the fixture has it, e.g. "1.000000". */
  extinf: string;
  durationMs: number;
}

let ladderCache: FixtureChunk[][] | undefined;

/** Chunks of each fixture rendition, from its VOD playlist. */
export function ladder(): FixtureChunk[][] {
  ladderCache ??= LADDER_RENDITIONS.map((v) => {
    const lines = readFileSync(path.join(fixtures.ladderDir, `stream_${v}.m3u8`), 'utf8').split('\n');
    const chunks: FixtureChunk[] = [];
    lines.forEach((line, i) => {
      const m = /^#EXTINF:([0-9.]+),/.exec(line);
      if (m) chunks.push({ file: lines[i + 1].trim(), extinf: m[1], durationMs: Math.round(Number(m[1]) * 1000) });
    });
    return chunks;
  });
  return ladderCache;
}

const chunkBytes = new Map<string, Buffer>();

/** The bytes of one fixture chunk (read once, then kept). */
export function fixtureChunkBytes(rendition: number, index: number): Buffer {
  const file = ladder()[rendition][index].file;
  let bytes = chunkBytes.get(file);
  if (!bytes) chunkBytes.set(file, (bytes = readFileSync(path.join(fixtures.ladderDir, file))));
  return bytes;
}

/**
 * The media playlist a live ffmpeg (-hls_list_size 6) uploads right after
 * chunk `index`: the last up to 6 chunks, numbered from the start of the
 * encoder's run (an encoder that restarts begins again at 0).
 */
export function livePlaylist(rendition: number, index: number): string {
  const chunks = ladder()[rendition];
  const first = Math.max(0, index - 5);
  const target = Math.max(...chunks.slice(first, index + 1).map((c) => Math.round(c.durationMs / 1000)));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', `#EXT-X-TARGETDURATION:${target}`, `#EXT-X-MEDIA-SEQUENCE:${first}`,
    '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (let i = first; i <= index; i++) lines.push(`#EXTINF:${chunks[i].extinf},`, chunks[i].file);
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------- helpers

/** Polls `check` until it returns something other than undefined/false, or throws after timeoutMs. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 5000, intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** SHA-1 of each key's serialized value (false for a key that vanished). */
const DIGEST_LUA = `local out = {}
for i, key in ipairs(KEYS) do
  local dump = redis.call('DUMP', key)
  out[i] = dump and redis.sha1hex(dump) or false
end
return out`;

export { deletePrefix };

// ---------------------------------------------------------------- harness

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  await ensureFixtures();
  const prefix = opts.keyPrefix ?? `t${randomBytes(6).readUIntBE(0, 6).toString(36)}`;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `dvr-test-${prefix}-`));
  const clock = fakeClock();
  const config = loadConfig({
    ...process.env,
    PUBLIC_BASE_URL: BASE_URL,
    // The core engine's tests do not need an MP4 remux of every clip made.
    MP4_PREBUILD: '0',
    // No RTMP/SRT gateways unless a test asks for them (on ports of its own).
    RTMP_PORT: '0',
    SRT_PORT: '0',
    ...opts.env,
    REDIS_URL: TEST_REDIS_URL,
    KEY_PREFIX: prefix,
    DATA_DIR: dataDir,
    ROLE: 'all',
    LOG_LEVEL: opts.env?.LOG_LEVEL ?? 'warn',
  });
  // A connection of our own, for inspection and for cleaning up after close.
  const admin = new Redis(TEST_REDIS_URL, { lazyConnect: true });
  await admin.connect();
  let service: Service | undefined;
  let company: Company;
  try {
    service = await startService(config, { clock, log: opts.log });
    company = await createCompany(service.ctx, 'Test company');
  } catch (err) {
    // Leave nothing running or stored behind a harness that never started.
    await service?.close().catch(() => undefined);
    await deletePrefix(admin, prefix);
    await admin.quit();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { ctx } = service;
  const app = service.app!;

  const api: Harness['api'] = (method, url, body, apiKey) => {
    const key = apiKey === undefined ? company.api_key : apiKey;
    return app.inject({
      method: method as 'GET',
      url,
      headers: key === null ? {} : { authorization: `apikey ${key}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
  };

  const get: Harness['get'] = (url, headers = {}) =>
    app.inject({ method: 'GET', url: url.startsWith(BASE_URL) ? url.slice(BASE_URL.length) : url, headers });

  const push: Harness['push'] = (stream, file, body, method = 'PUT') => {
    const url = `${new URL(stream.push_url_hls).pathname}${file}`;
    if (method === 'DELETE') return app.inject({ method, url });
    // As ffmpeg: chunked transfer encoding, no Content-Length, no Content-Type.
    return app.inject({
      method, url, headers: { 'transfer-encoding': 'chunked' }, payload: Readable.from([Buffer.from(body)]),
    });
  };

  const pushOk = async (stream: StreamView, file: string, body: Buffer | string) => {
    const res = await push(stream, file, body);
    if (res.statusCode >= 300) throw new Error(`push of ${file} answered ${res.statusCode}: ${res.body}`);
  };

  /**
   * For each chunk index: advance the clock by the chunk's duration (a live
   * encoder uploads a chunk once it has been recorded), then for each
   * rendition PUT the chunk and then that rendition's media playlist. The
   * master playlist follows the first round.
   */
  const pushLadder: Harness['pushLadder'] = async (stream, { from, to, startAt, master = true, renditions = LADDER_RENDITIONS }) => {
    if (startAt !== undefined) clock.set(startAt);
    const start = clock.now();
    const chunks = ladder();
    for (let i = from; i <= to; i++) {
      clock.advance(chunks[0][i].durationMs);
      for (const v of renditions) {
        await pushOk(stream, chunks[v][i].file, fixtureChunkBytes(v, i));
        await pushOk(stream, `stream_${v}.m3u8`, livePlaylist(v, i));
      }
      if (i === from && master) await pushOk(stream, 'master.m3u8', readFileSync(fixtures.ladderMaster));
    }
    return { start, end: clock.now() };
  };

  return {
    service,
    app,
    ctx,
    clock,
    company,
    prefix,
    newCompany: (name = 'Other company') => createCompany(ctx, name),
    async createStream(body = { name: 'Test stream' }, apiKey) {
      const res = await api('POST', '/streaming/streams', body, apiKey);
      if (res.statusCode !== 201) throw new Error(`creating a stream answered ${res.statusCode}: ${res.body}`);
      return res.json() as StreamView;
    },
    api,
    get,
    push,
    pushLadder,
    keys: (pattern = '*') => scanKeys(admin, `${prefix}:${pattern}`),
    async snapshot() {
      await ctx.probes.settled();
      await tilesSettled();
      // The webhook sweep's lock comes and goes on its own timer, whatever
      // requests do: it is not state a request could have written.
      const keys = (await scanKeys(admin, `${prefix}:*`)).filter((key) => key !== `${prefix}:webhooks:sweeplock`);
      const out = new Map<string, string>();
      // Digests are taken inside Redis: chunk keys hold megabytes.
      for (let i = 0; i < keys.length; i += 200) {
        const batch = keys.slice(i, i + 200);
        const digests = (await admin.eval(DIGEST_LUA, batch.length, ...batch)) as (string | false | null)[];
        batch.forEach((key, j) => digests[j] && out.set(key, digests[j] as string));
      }
      return out;
    },
    async close() {
      try {
        await service.close();
      } finally {
        await deletePrefix(admin, prefix);
        await admin.quit();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}
