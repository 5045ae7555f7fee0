// What thumbnails cost in CPU (figures, not pass/fail):
//   - a tile per chunk (the chunk's first picture, 160x90), from the 240p
//     rendition the service uses and from 720p for comparison, against a
//     same-run reference: decoding the whole chunk (what a thumbnailer that
//     decodes everything would pay);
//   - tiles made together by one ffmpeg, as the service does with the tiles
//     that are due at once (2: one stream, whose tiles wait up to 3 s for
//     company; 16: a busy server), since starting ffmpeg costs about a tile;
//   - per stream: that tile cost spread over the chunk duration, as a share
//     of one core;
//   - a clip poster at source size (720p) and a sprite sheet of 100 tiles.
// CPU is the children's user+system time the kernel accounts to this process
// (/proc/self/stat cutime+cstime), so it is ffmpeg's own work, nicing aside.
// A 2 s chunk ladder is encoded once into the temp folder and reused.
// Run: node --import tsx scripts/bench-thumbs.ts
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { demoEncoderArgs } from '../src/demo/encoder.js';
import { composeSprite, firstFrame, firstFrames, runFfmpeg } from '../src/thumbs/ffmpeg.js';
import { blankTileJpeg, TILE_HEIGHT, TILE_WIDTH } from '../src/thumbs/tiles.js';

const run = promisify(execFile);
const CHUNK_S = 2;
const RUNS = 30;
const dir = path.join(os.tmpdir(), `dvr-bench-thumbs-${CHUNK_S}s`);
const TICK_MS = 1000 / 100; // CLK_TCK is 100 on Linux

function childCpuMs(): number {
  // Fields after the command name: state is field 3; cutime and cstime are 16 and 17.
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
}

async function ladder(): Promise<void> {
  if (existsSync(dir)) return;
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await run('ffmpeg', demoEncoderArgs(`${tmp}/`, { hlsTime: CHUNK_S, durationSec: 20, overlay: false, vod: true }));
  await rename(tmp, dir);
}

async function chunksOf(variant: number): Promise<Buffer[]> {
  const files = (await readdir(dir)).filter((f) => f.startsWith(`stream_${variant}_`) || f.startsWith(`stream_${variant}`)).filter((f) => f.endsWith('.ts')).sort();
  return files.map((f) => readFileSync(path.join(dir, f)));
}

/** Mean CPU ms per call over RUNS calls cycling through the inputs. */
async function cpuPer(inputs: Buffer[], call: (b: Buffer) => Promise<unknown>): Promise<number> {
  const before = childCpuMs();
  for (let i = 0; i < RUNS; i++) await call(inputs[i % inputs.length]);
  return (childCpuMs() - before) / RUNS;
}

const fullDecode = (b: Buffer) => runFfmpeg(['-f', 'mpegts', '-i', 'pipe:0', '-map', '0:v:0', '-f', 'framemd5', 'pipe:1'], b);

await ladder();
const low = await chunksOf(0);
const high = await chunksOf(2);
if (low.length === 0 || high.length === 0) throw new Error(`no chunks in ${dir}`);

const startFloor = await cpuPer([Buffer.alloc(0)], () => runFfmpeg(['-f', 'lavfi', '-i', 'nullsrc=s=16x16:d=0.04', '-frames:v', '1', '-f', 'null', '-'], Buffer.alloc(0), { allowEmpty: true }));
const tileLow = await cpuPer(low, (b) => firstFrame({ bytes: b }, { box: [TILE_WIDTH, TILE_HEIGHT] }));
const decodeLow = await cpuPer(low, fullDecode);
const batched = async (n: number) => (await cpuPer([Buffer.alloc(0)], () => firstFrames(Array.from({ length: n }, (_, i) => ({ bytes: low[i % low.length] })), [TILE_WIDTH, TILE_HEIGHT]))) / n;
const tileBy2 = await batched(2);
const tileBy16 = await batched(16);
const tileHigh = await cpuPer(high, (b) => firstFrame({ bytes: b }, { box: [TILE_WIDTH, TILE_HEIGHT] }));
const decodeHigh = await cpuPer(high, fullDecode);
const poster = await cpuPer(high, (b) => firstFrame({ bytes: b }, {}));
const tiles = await Promise.all(low.map((b) => firstFrame({ bytes: b }, { box: [TILE_WIDTH, TILE_HEIGHT] })));
const sheetTiles = Array.from({ length: 100 }, (_, i) => tiles[i % tiles.length]);
const blank = await blankTileJpeg();
const sheet = await cpuPer([Buffer.alloc(0)], () => composeSprite(sheetTiles, 10, blank));

const f = (ms: number) => `${ms.toFixed(1)} ms`;
console.log(`thumbnail CPU (ffmpeg user+sys, mean of ${RUNS} runs, ${CHUNK_S} s chunks of the demo ladder, ${os.cpus().length} cores)`);
console.log(`  tile from 240p chunk (the service's source): ${f(tileLow)}  = ${(tileLow / decodeLow).toFixed(2)} x a full decode of that chunk (${f(decodeLow)})`);
console.log(`  tile from 720p chunk (for comparison):       ${f(tileHigh)}  = ${(tileHigh / decodeHigh).toFixed(2)} x a full decode of that chunk (${f(decodeHigh)})`);
console.log(`  ffmpeg starting and stopping, no work:      ${f(startFloor)} (the floor of any one-tile ffmpeg)`);
console.log(`  tiles made 2 at a time:  ${f(tileBy2)} per tile = ${(tileBy2 / tileLow).toFixed(2)} x one at a time`);
console.log(`  tiles made 16 at a time: ${f(tileBy16)} per tile = ${(tileBy16 / tileLow).toFixed(2)} x one at a time`);
const share = (ms: number) => `${((ms / (CHUNK_S * 1000)) * 100).toFixed(2)} % of one core`;
console.log(`  per stream (one tile per ${CHUNK_S} s chunk): alone ${share(tileBy2)} (tiles in pairs); on a busy server ${share(tileBy16)}, ${Math.floor((CHUNK_S * 1000) / tileBy16)} streams per core`);
console.log(`  clip poster at 1280x720 (once per clip):     ${f(poster)}`);
console.log(`  sprite sheet of 100 tiles (once per version): ${f(sheet)} (${(sheet / 100).toFixed(2)} ms per tile)`);
