// Cost of the retention scripts at SPEC 9's scale: 10,000 clips on a stream
// with a 4 h window. Starts its own throwaway redis-server (it sets slowlog
// options), builds the load through the service's scripts, runs each
// operation and prints the slowest single script call (Redis's own time,
// SLOWLOG), target < 10 ms. Figures, not pass/fail.
// Run: npm run bench:lua   (CLIPS=10000 HOURS=4 to change the scale)
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import { Redis } from 'ioredis';
import { buildLoad, runOperations } from './lua-load.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const clips = Number(process.env.CLIPS ?? 10_000);
const hours = Number(process.env.HOURS ?? 4);
const port = await freePort();
const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: (n) => (n > 50 ? null : 100) });
redis.on('error', () => undefined); // until the server listens
try {
  for (let i = 0; i < 50; i++) {
    try { await redis.connect(); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  const built = Date.now();
  const load = await buildLoad(redis, { clips, hours });
  console.log(`built ${clips} clips and a ${hours} h window of 2 s chunks x 3 renditions in ${((Date.now() - built) / 1000).toFixed(1)} s`);
  const results = await runOperations(load);
  console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores (wall times grow with it; Redis CPU does not)`);
  console.log('operation                               calls  slowest wall (ms)  median wall (ms)  slowest CPU (ms)  script          all calls wall (ms)');
  for (const r of results) {
    console.log(`${r.what.padEnd(40)}${String(r.calls).padStart(5)}  ${r.slowestMs.toFixed(2).padStart(17)}  ${r.medianMs.toFixed(2).padStart(16)}  ${r.slowestCpuMs.toFixed(2).padStart(16)}  ${r.slowestCpuScript.padEnd(15)} ${r.totalMs.toFixed(1).padStart(19)}`);
  }
  const worstWall = results.reduce((a, b) => (b.slowestMs > a.slowestMs ? b : a));
  const worstCpu = results.reduce((a, b) => (b.slowestCpuMs > a.slowestCpuMs ? b : a));
  console.log(`slowest script call, Redis CPU: ${worstCpu.slowestCpuMs.toFixed(2)} ms (${worstCpu.slowestCpuScript}, ${worstCpu.what}); target < 10 ms`);
  console.log(`slowest script call, wall (SLOWLOG): ${worstWall.slowestMs.toFixed(2)} ms (${worstWall.slowestScript}, ${worstWall.what})`);
} finally {
  redis.disconnect();
  server.kill('SIGTERM');
}
