// API_PROCESSES=2: two api processes share the port, with one embedded Redis
// and one set of workers in the primary. Every API answers from every
// process; the first-run print happens once; SIGTERM to the primary, or to
// the whole process group, stops the whole tree cleanly.
import http from 'node:http';
import net from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deletePrefixAt } from '../../src/redis/prefix.js';
import { fixtureChunkBytes, ladder, livePlaylist, TEST_REDIS_URL, waitFor } from '../helpers/harness.js';
import { demoApiKey, redisServersOf, serviceBootOutcome, serviceProcesses, stackTraceLines, type ServiceProcess } from '../helpers/service-process.js';

const processes = serviceProcesses();

interface Answer { status: number; process: string; body: string }

/** One request on a connection of its own, so that the port's balancing picks a process each time. */
function request(port: number, method: string, url: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: url, headers: { connection: 'close', ...headers }, agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, process: String(res.headers['x-api-process'] ?? ''), body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Asks until every api process answered (bounded), checking each answer. */
async function fromEveryProcess(processes: number, send: () => Promise<Answer>, check: (a: Answer) => void): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < 60 && seen.size < processes; i++) {
    const answer = await send();
    check(answer);
    seen.add(answer.process);
  }
  return seen;
}

/** Processes of a process group still alive. */
function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') pids.push(Number(entry));
    } catch { /* gone */ }
  }
  return pids;
}

function start(): Promise<ServiceProcess> {
  return processes.start({ API_PROCESSES: '2', MP4_PREBUILD: '0' }, { dataDir: processes.dataDir('dvr-multi-') });
}

async function stopped(p: ServiceProcess, kill: () => void) {
  const sent = Date.now();
  kill();
  const exit = await p.exited;
  const out = p.output();
  expect(exit.code, out.slice(-3000)).toBe(0);
  expect(exit.at - sent).toBeLessThan(20_000);
  expect(p.logs().filter((l) => l.msg === 'api process stopped')).toHaveLength(2);
  expect(p.logs().some((l) => l.msg === 'stopped')).toBe(true);
  expect(stackTraceLines(out)).toEqual([]);
  expect(out).not.toMatch(/Unhandled error event|worker error/);
  await waitFor(() => groupMembers(p.child.pid!).length === 0, 'no process of the tree left', 5000, 100);
  expect(redisServersOf(p.dataDir)).toEqual([]);
}

describe('API_PROCESSES=2', () => {
  it('serves every API from every process, prints the first run once, and stops on SIGTERM to the primary', async () => {
    const p = await start();
    const out = p.output();
    expect(out.split('Demo company ').length - 1).toBe(1);
    const key = demoApiKey(p.dataDir);
    const auth = { authorization: `apikey ${key}` };

    const health = await fromEveryProcess(2, () => request(p.port, 'GET', '/healthz'), (a) => expect(a.status).toBe(200));
    expect(health.size).toBe(2);
    expect(await fromEveryProcess(2, () => request(p.port, 'GET', '/readyz'), (a) => expect(a.status, a.body).toBe(200))).toHaveProperty('size', 2);
    expect(await fromEveryProcess(2, () => request(p.port, 'GET', '/streaming/streams', auth), (a) => {
      expect(a.status).toBe(200);
      expect(JSON.parse(a.body)).toEqual(expect.arrayContaining([expect.objectContaining({ id: 1 })]));
    })).toHaveProperty('size', 2);

    // Ingest from both processes into the same stream, then its live playlist from both.
    const stream = JSON.parse((await request(p.port, 'GET', '/streaming/streams/1', auth)).body) as { push_url_hls: string };

    const push = new URL(stream.push_url_hls).pathname;
    let n = 0;
    const chunksBy = new Set<string>();
    const ingestedBy = await fromEveryProcess(2, async () => {
      const i = n++ % 12;
      const chunk = await request(p.port, 'PUT', `${push}${ladder()[0][i].file}`, {}, fixtureChunkBytes(0, i));
      expect(chunk.status, chunk.body).toBe(204);
      chunksBy.add(chunk.process);
      return request(p.port, 'PUT', `${push}stream_0.m3u8`, {}, livePlaylist(0, i));
    }, (a) => expect(a.status, a.body).toBe(204));
    expect(new Set([...ingestedBy, ...chunksBy]).size).toBe(2);
    const { hls_url: live } = JSON.parse((await request(p.port, 'GET', '/streaming/streams/1', auth)).body) as { hls_url: string };
    const livePath = new URL(live).pathname;
    expect(await fromEveryProcess(2, () => request(p.port, 'GET', livePath), (a) => expect(a.status, a.body).toBe(200))).toHaveProperty('size', 2);

    // The seed-003 login family (bad credentials) and the OpenAPI document.
    expect(await fromEveryProcess(2, () => request(p.port, 'POST', '/api/v3/authenticate', { 'content-type': 'application/json' },
      JSON.stringify({ username: 'nobody', password: 'wrong' })), (a) => expect(a.status).toBe(401))).toHaveProperty('size', 2);
    expect(await fromEveryProcess(2, () => request(p.port, 'GET', '/docs/json'), (a) => expect(a.status).toBe(200))).toHaveProperty('size', 2);

    await stopped(p, () => process.kill(p.child.pid!, 'SIGTERM'));
  }, 180_000);

  it('an api process that dies is started again, later each time it dies young', async () => {
    const p = await start();
    expect((await fromEveryProcess(2, () => request(p.port, 'GET', '/healthz'), () => undefined)).size).toBe(2);
    /** The pid of api process 2 as it last said it listened. */
    const pidOf2 = () => p.logs().filter((l) => l.api_process === '2' && String(l.msg).startsWith('Server listening')).at(-1)?.pid as number;
    const restarts = () => p.logs().filter((l) => l.msg === 'api process exited: starting another' && l.api_process === 2);
    const listenedAt = () => p.logs().filter((l) => l.api_process === '2' && String(l.msg).startsWith('Server listening')).at(-1)?.time as number;
    for (const round of [1, 2]) {
      const pid = pidOf2();
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      await waitFor(() => restarts().length === round, `restart ${round}`, 10_000, 50);
      const restart = restarts().at(-1)!;
      // 1 s the first time; twice the last wait for a process that died within 10 s of its start.
      const wait = round === 1 || Number(restart.lived_ms) >= 10_000 ? 1000 : 2000;
      expect(restart).toMatchObject({ signal: 'SIGKILL', restart_in_ms: wait });
      await waitFor(() => pidOf2() !== undefined && pidOf2() !== pid, 'api process 2 listening again', 20_000, 100);
      expect(listenedAt() - killedAt).toBeGreaterThanOrEqual(wait);
      expect((await fromEveryProcess(2, () => request(p.port, 'GET', '/healthz'), (a) => expect(a.status).toBe(200))).size).toBe(2);
    }
    await stopped(p, () => process.kill(p.child.pid!, 'SIGTERM'));
  }, 120_000);

  it('ROLE=api on a Redis of its own: with every api process killed at once, the primary (nothing else keeps it busy) starts them again', async () => {
    const prefix = `mp${Date.now().toString(36)}`;
    const p = await processes.start({ ROLE: 'api', API_PROCESSES: '2', REDIS_URL: TEST_REDIS_URL, KEY_PREFIX: prefix }, { dataDir: processes.dataDir('dvr-multi-api-') });
    try {
      expect((await fromEveryProcess(2, () => request(p.port, 'GET', '/healthz'), () => undefined)).size).toBe(2);
      const pidOf = (index: string) => p.logs().filter((l) => l.api_process === index && String(l.msg).startsWith('Server listening')).at(-1)?.pid as number;
      const before = ['1', '2'].map(pidOf);
      for (const pid of before) process.kill(pid, 'SIGKILL');
      await waitFor(() => ['1', '2'].every((index, i) => pidOf(index) !== before[i]), 'both api processes listening again', 30_000, 100);
      expect(p.child.exitCode).toBeNull();
      expect((await fromEveryProcess(2, () => request(p.port, 'GET', '/healthz'), (a) => expect(a.status).toBe(200))).size).toBe(2);
      await stopped(p, () => process.kill(p.child.pid!, 'SIGTERM'));
    } finally {
      await deletePrefixAt(TEST_REDIS_URL, prefix);
    }
  }, 120_000);

  it('the port taken: no api process can listen, so the primary says so and stops instead of saying ready', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const { code, output } = await serviceBootOutcome({ API_PROCESSES: '2', MP4_PREBUILD: '0', PORT: String(port) });
      expect(code, output.slice(-2000)).toBe(1);
      expect(output).toMatch(/EADDRINUSE/);
      expect(output).toMatch(/no api process could start/);
      expect(output).not.toMatch(/service ready|starting another|Demo company/);
      expect(stackTraceLines(output)).toEqual([]);
    } finally {
      holder.close();
    }
  }, 60_000);

  it('stops cleanly on SIGINT to the whole process group', async () => {
    const p = await start();
    expect((await fromEveryProcess(2, () => request(p.port, 'GET', '/healthz'), () => undefined)).size).toBe(2);
    await stopped(p, () => process.kill(-p.child.pid!, 'SIGINT'));
  }, 180_000);
});
