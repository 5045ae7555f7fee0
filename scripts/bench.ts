// Benchmark of the core engine on this machine (figures, not pass/fail):
//   - clip creation latency over HTTP, median and p99, for 60 s and 4 h clips
//   - Redis memory added by 100 overlapping 60 s clips
//   - chunk and playlist requests per second, against /healthz as the
//     reference (the cost of Fastify and one keep-alive request, no Redis)
// Everything runs against 127.0.0.1 with bounded loops.
// Run: node --import tsx scripts/bench.ts   (REDIS_URL defaults to 127.0.0.1:6379)
import { readFile, mkdtemp } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { deletePrefixAt } from '../src/redis/prefix.js';
import { ingestChunk, ingestPlaylist } from '../src/dvr/ingest.js';
import { createStream, loadStream } from '../src/dvr/streams.js';
import { startService } from '../src/service.js';
import { createCompany } from '../src/tenancy/companies.js';
import { ensureFixtures, fixtures } from '../fixtures/make.js';

const CHUNK_MS = 2000;
const HOURS = 4;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(port: number, method: string, url: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: url, headers, agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Requests per second with `concurrency` loops, bounded by count and time. */
async function throughput(port: number, url: string, concurrency = 32, maxRequests = 40_000, maxMs = 5000): Promise<number> {
  let done = 0;
  const started = performance.now();
  const loop = async () => {
    while (done < maxRequests && performance.now() - started < maxMs) {
      const res = await request(port, 'GET', url);
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return done / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  await ensureFixtures();
  const realNow = Date.now();
  let fakeNow = realNow - HOURS * 3600_000 - 120_000;
  const clock = { now: () => fakeNow };
  const prefix = `bench${Date.now().toString(36)}`;
  const config = loadConfig({
    ...process.env, REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379', KEY_PREFIX: prefix,
    DATA_DIR: await mkdtemp(path.join(os.tmpdir(), 'dvr-bench-')), LOG_LEVEL: 'error', PORT: '0',
    // The stand-in chunks are not media: building MP4s of them would only fail.
    MP4_PREBUILD: '0',
  });
  const service = await startService(config, { clock });
  const { ctx } = service;
  try {
    const company = await createCompany(ctx, 'bench');
    const created = await createStream(ctx, company.client_id, { name: 'bench', dvr_duration: 14400 });
    // Real chunks first so the probe learns the renditions; then small
    // stand-ins: clip creation never reads media, only the index.
    const real = await Promise.all([0, 1, 2].map((v) => readFile(path.join(fixtures.ladderDir, `stream_${v}_00000.ts`))));
    const standIn = Buffer.alloc(2048, 0x47);
    const total = (HOURS * 3600_000) / CHUNK_MS + 30;
    process.stdout.write(`filling a ${HOURS} h DVR: ${total} chunks x 3 renditions ... `);
    const fillStart = performance.now();
    for (let i = 0; i < total; i++) {
      const stream = (await loadStream(ctx, created.id))!;
      for (let v = 0; v < 3; v++) {
        const name = `s${v}_${i}.ts`;
        await ingestChunk(ctx, stream, name, i < 2 ? real[v] : standIn);
        await ingestPlaylist(ctx, stream, `s${v}.m3u8`,
          `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:${i}\n#EXTINF:2.000,\n${name}\n`);
      }
      fakeNow += CHUNK_MS;
    }
    console.log(`${((performance.now() - fillStart) / 1000).toFixed(1)} s`);
    fakeNow = Date.now();
    clock.now = () => Date.now();
    await new Promise((r) => setTimeout(r, 1500)); // let the probes finish

    await service.app!.listen({ port: 0, host: '127.0.0.1' });
    const port = (service.app!.server.address() as { port: number }).port;
    const auth = { authorization: `apikey ${company.api_key}`, 'content-type': 'application/json' };
    const clipUrl = `/streaming/streams/${created.id}/clip_recording`;
    const nowS = () => Math.floor(Date.now() / 1000);

    async function creation(label: string, duration: number, count: number, startOf: (i: number) => number) {
      const times: number[] = [];
      let last: { hls_master: string; id: string } | undefined;
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        const res = await request(port, 'PUT', clipUrl, auth, JSON.stringify({ duration, start: startOf(i) }));
        times.push(performance.now() - t0);
        if (res.status !== 200) throw new Error(`clip creation answered ${res.status}: ${res.body}`);
        last = JSON.parse(res.body.toString());
      }
      times.sort((a, b) => a - b);
      console.log(`${label}: min ${times[0].toFixed(2)} ms, median ${percentile(times, 50).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms over ${count} (targets for 60 s: median < 5, p99 < 20)`);
      return last!;
    }

    await creation('warm-up', 60, 20, (i) => nowS() - 3000 + i);
    const clip60 = await creation('create 60 s clip', 60, 300, (i) => nowS() - 3000 + (i % 600));
    await creation('create 4 h clip ', 14400 - 200, 30, () => nowS() - 14400 + 100);

    // What 100 clips add: their own records, plus what they add to the
    // stream's span and clip lists (MEMORY USAGE, exact), and the server's
    // used_memory delta for comparison (noisy: allocator, other keys).
    const streamKeys = [ctx.keys.stream.spans(created.id), ctx.keys.stream.clips(created.id)];
    const usage = async (keys: string[]) =>
      (await Promise.all(keys.map((k) => ctx.redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0') as Promise<number | null>)))
        .reduce<number>((sum, n) => sum + (n ?? 0), 0);
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await ctx.redis.info('memory'))![1]);
    const [streamBefore, serverBefore] = [await usage(streamKeys), await usedMemory()];
    const base = nowS() - 2000;
    const made: string[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await request(port, 'PUT', clipUrl, auth, JSON.stringify({ duration: 60, start: base + (i % 10) }));
      if (res.status !== 200) throw new Error(`clip creation answered ${res.status}`);
      made.push(ctx.keys.stream.clip(created.id, JSON.parse(res.body.toString()).id));
    }
    const added = (await usage(made)) + (await usage(streamKeys)) - streamBefore;
    const serverAdded = (await usedMemory()) - serverBefore;
    console.log(`100 overlapping 60 s clips added ${(added / 1024).toFixed(0)} KiB to Redis (${(added / 100).toFixed(0)} B per clip; target < 1 MiB in all); used_memory moved by ${(serverAdded / 1024).toFixed(0)} KiB`);

    const owner = new URL(clip60.hls_master).pathname.split('/')[2];
    const master = `/rec/${owner}/rec_${clip60.id}_master.m3u8`;
    const media = `/rec/${owner}/rec_${clip60.id}_media_1_240.m3u8`;
    const chunkName = (await request(port, 'GET', media)).body.toString().split('\n').find((l) => l.endsWith('.ts'))!;
    const chunk = `/rec/${owner}/${chunkName}`;
    const reference = await throughput(port, '/healthz');
    const rows: Array<[string, number]> = [
      ['master playlist', await throughput(port, master)],
      ['media playlist', await throughput(port, media)],
      ['chunk (2 KiB)', await throughput(port, chunk)],
    ];
    console.log(`reference /healthz: ${reference.toFixed(0)} req/s`);
    for (const [label, rps] of rows) console.log(`${label}: ${rps.toFixed(0)} req/s (${(rps / reference).toFixed(2)}x the reference)`);
  } finally {
    await service.close();
    await deletePrefixAt(config.redisUrl, prefix);
    agent.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
