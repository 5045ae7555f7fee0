// Benchmark of webhook deliveries on this machine (figures, not pass/fail),
// against a receiver on 127.0.0.1 that verifies every signature:
//   - deliveries per second to one endpoint, events of many objects (the
//     delivery worker's concurrency), against the same signed POSTs sent by a
//     bare node:http loop at the same concurrency (the reference ceiling)
//   - deliveries per second of one object's chain (strictly one at a time)
//   - the delay from clip.ready (the moment the clip became ready, the
//     event's timestamp) to the receiver, median and p95
// Run: node --import tsx scripts/bench-webhooks.ts   (REDIS_URL defaults to 127.0.0.1:6379)
import { mkdtemp, readFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ensureFixtures, fixtures } from '../fixtures/make.js';
import { loadConfig } from '../src/config.js';
import { createClip } from '../src/clips/clips.js';
import { ingestChunk, ingestPlaylist } from '../src/dvr/ingest.js';
import { createStream, loadStream } from '../src/dvr/streams.js';
import { appendToChain } from '../src/events/chains.js';
import { createEndpoint } from '../src/events/endpoints.js';
import { signedHeaders } from '../src/events/signing.js';
import { deletePrefixAt } from '../src/redis/prefix.js';
import { startService } from '../src/service.js';
import { createCompany } from '../src/tenancy/companies.js';

const EVENTS = 1000;
const CHAIN_EVENTS = 300;
const CLIPS = 60;
const MAX_MS = 60_000;

interface Arrival { id: string; type: string; at: number; timestamp: number; ok: boolean }

function receiver(secret: () => string) {
  const arrivals: Arrival[] = [];
  const server = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString();
      const id = String(req.headers['webhook-id']);
      const ts = String(req.headers['webhook-timestamp']);
      const key = Buffer.from(secret().replace(/^whsec_/, ''), 'base64');
      const expected = Buffer.from(`v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`);
      const ok = String(req.headers['webhook-signature']).split(' ').some((s) => s.length === expected.length && timingSafeEqual(Buffer.from(s), expected));
      const msg = JSON.parse(body) as { type: string; timestamp: string };
      arrivals.push({ id, type: msg.type, at: Date.now(), timestamp: Date.parse(msg.timestamp), ok });
      res.writeHead(204).end();
    });
  });
  return { server, arrivals };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + MAX_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function bareReference(port: number, secret: string, concurrency: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 }); // as the delivery worker
  const body = JSON.stringify({ type: 'webhook.test', timestamp: new Date().toISOString(), data: { n: 0 } });
  let sent = 0;
  const started = performance.now();
  const loop = async () => {
    while (sent < EVENTS) {
      const n = sent++;
      const headers = signedHeaders([secret], `msg_bare${n}`, Math.floor(Date.now() / 1000), body);
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end(body);
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return EVENTS / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  await ensureFixtures();
  const prefix = `benchwh${Date.now().toString(36)}`;
  let fakeNow = Math.floor(Date.now() / 1000) * 1000 - 60_000;
  const config = loadConfig({
    ...process.env, REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379', KEY_PREFIX: prefix,
    DATA_DIR: await mkdtemp(path.join(os.tmpdir(), 'dvr-bench-')), LOG_LEVEL: 'error', PORT: '0',
    WEBHOOK_ALLOW_PRIVATE: '1',
  });
  let secret = '';
  const rx = receiver(() => secret);
  await new Promise<void>((resolve) => rx.server.listen(0, '127.0.0.1', resolve));
  const port = (rx.server.address() as AddressInfo).port;
  const service = await startService(config, { clock: { now: () => fakeNow } });
  const { ctx, queues } = service;
  try {
    const company = await createCompany(ctx, 'bench');
    const ep = await createEndpoint(ctx, company.client_id, { url: `http://127.0.0.1:${port}/hook` });
    secret = ep.secret;
    console.log(`webhook deliveries to one endpoint on 127.0.0.1 (WEBHOOK_CONCURRENCY=${config.webhookConcurrency})`);

    // 1. Many objects: independent chains, delivered concurrently. Rates are
    // counted from the first arrival to the last, so queueing does not count.
    let started = performance.now();
    const rate = () => (rx.arrivals.length - 1) / (((rx.arrivals.at(-1)?.at ?? 0) - (rx.arrivals[0]?.at ?? 0)) / 1000 || 1);
    for (let i = 0; i < EVENTS; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, EVENTS - i) }, (_, j) => {
        const body = JSON.stringify({ type: 'webhook.test', timestamp: new Date().toISOString(), data: { n: i + j } });
        return appendToChain(ctx, queues, ep.id, { id: `msg_many${i + j}`, type: 'webhook.test', object: `bench.${i + j}`, at: Date.now(), body });
      }));
    }
    const queuedMs = performance.now() - started;
    await until(() => rx.arrivals.length >= EVENTS, 'the many-object deliveries');
    const many = rate();
    const bare = await bareReference(port, secret, config.webhookConcurrency);
    console.log(`  many objects:  ${many.toFixed(0)} deliveries/s   bare node:http POST loop: ${bare.toFixed(0)}/s   ratio ${(many / bare).toFixed(2)}`
      + `   (queueing ${EVENTS} events took ${(queuedMs / 1000).toFixed(1)} s)`);
    rx.arrivals.length = 0;

    // 2. One object: the chain delivers one event at a time, in order.
    started = performance.now();
    for (let i = 0; i < CHAIN_EVENTS; i++) {
      const body = JSON.stringify({ type: 'webhook.test', timestamp: new Date().toISOString(), data: { n: i } });
      await appendToChain(ctx, queues, ep.id, { id: `msg_one${i}`, type: 'webhook.test', object: 'bench.one', at: Date.now(), body });
    }
    await until(() => rx.arrivals.length >= CHAIN_EVENTS, 'the one-object chain');
    const one = rate();
    const inOrder = rx.arrivals.every((a, i) => a.id === `msg_one${i}`);
    console.log(`  one object:    ${one.toFixed(0)} deliveries/s   (in order: ${inOrder})`);
    rx.arrivals.length = 0;

    // 3. clip.ready to the receiver: clips of a stream with chunks are ready as they are made.
    const stream = await createStream(ctx, company.client_id, { name: 'bench' });
    for (let i = 0; i < 12; i++) {
      fakeNow += 1000;
      for (const v of [0, 1, 2]) {
        const s = (await loadStream(ctx, stream.id))!;
        const file = `stream_${v}_${String(i).padStart(5, '0')}.ts`;
        await ingestChunk(ctx, s, file, await readFile(path.join(fixtures.ladderDir, file)));
        const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0'];
        for (let j = 0; j <= i; j++) lines.push('#EXTINF:1.000000,', `stream_${v}_${String(j).padStart(5, '0')}.ts`);
        await ingestPlaylist(ctx, s, `stream_${v}.m3u8`, lines.join('\n') + '\n');
      }
    }
    const s = (await loadStream(ctx, stream.id))!;
    const clipStart = Math.floor((fakeNow - 10_000) / 1000);
    for (let i = 0; i < CLIPS; i++) await createClip(ctx, queues, s, { start: clipStart, duration: 2 });
    await until(() => rx.arrivals.filter((a) => a.type === 'clip.ready').length >= CLIPS, 'clip.ready of every clip');
    const delays = rx.arrivals.filter((a) => a.type === 'clip.ready').map((a) => a.at - a.timestamp).sort((a, b) => a - b);
    console.log(`  clip.ready -> receiver: median ${pct(delays, 50)} ms, p95 ${pct(delays, 95)} ms, max ${delays.at(-1)} ms (${CLIPS} clips)`);
    console.log(`  every signature verified: ${rx.arrivals.every((a) => a.ok)}`);
  } finally {
    await service.close();
    rx.server.closeAllConnections();
    rx.server.close();
    await deletePrefixAt(config.redisUrl, prefix);
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
