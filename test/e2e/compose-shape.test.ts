// The production shape of deploy/compose.yaml, tried without containers:
// every service of the file runs as a process of its own, with the
// environment the file (and the Dockerfile's ENV) gives it, its host names
// and ports mapped to 127.0.0.1, and one folder per named volume. nginx runs
// the file's template in front of api1 and api2, the worker runs apart, and
// Redis keeps its append-only file. An encoder publishes to the push URL a
// stream gives, as OBS would; a clip made through the edge plays through
// it; the worker alone makes its VOD, which plays through the edge; with
// api1 stopped, the edge still answers from api2.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { nginxPrefix, startNginx, type Nginx } from '../helpers/nginx.js';
import { decodeErrors, freeUdpPort, testEncoder, finished, until } from '../helpers/live-service.js';
import { freePort, serviceProcesses, tempDir, type ServiceProcess } from '../helpers/service-process.js';
import { waitFor } from '../helpers/harness.js';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '../..');
const DEPLOY = path.join(ROOT, 'deploy');

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
}

const compose = parse(readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;

/** The image's ENV (the Dockerfile's `ENV K=V ...` lines), under what compose sets. */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').split('\n')) {
    if (!line.startsWith('ENV ')) continue;
    for (const pair of line.slice(4).trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/**
 * The settings of the image's container ports. Each container has the same
 * port numbers, and what a service publishes goes to that container: so
 * here the gateway ports are one number for every api service (api1 starts
 * first and binds them; api2's gateways cannot, as in compose nobody could
 * reach them), and push URLs name that number whichever process answers.
 * The HTTP port differs per service, as nginx reaches each by its name.
 */
const GATEWAY_PORTS: Record<string, string> = { '1935': 'RTMP_PORT', '8890/udp': 'SRT_PORT' };

const processes = serviceProcesses();
let redis: ChildProcess;
let nginx: Nginx;
let edge: string;
let apiKey: string;
const api: Record<string, ServiceProcess> = {};
/** host:port as the compose network names them -> as they are here. */
const hosts: Record<string, string> = {};
const rtmpPorts: number[] = [];

/** A compose value with the network's names and the published host ports made local. */
function local(value: string): string {
  let out = value;
  for (const [name, here] of Object.entries(hosts)) out = out.replaceAll(name, here);
  return out;
}

const get = (p: string, headers: Record<string, string> = {}) => fetch(`${edge}${p}`, { headers: { authorization: `apikey ${apiKey}`, ...headers } });
async function call(method: string, p: string, body?: unknown) {
  const res = await fetch(`${edge}${p}`, {
    method, headers: { authorization: `apikey ${apiKey}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, text };
}

beforeAll(async () => {
  expect(Object.keys(services).sort()).toEqual(['api1', 'api2', 'nginx', 'redis', 'worker']);
  // Redis, as the file runs it, with its data in a folder of its own.
  const redisPort = await freePort();
  hosts['redis:6379'] = `127.0.0.1:${redisPort}`;
  const [bin, ...args] = services.redis.command!;
  const redisDir = tempDir('dvr-compose-redis-');
  redis = spawn(bin, [...args, '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--dir', redisDir], { stdio: 'ignore' });
  await until('redis-server', () => run('redis-cli', ['-p', String(redisPort), 'ping']).then((r) => r.stdout.includes('PONG'), () => false), 10_000, 100);

  // The published port of the edge, and each api service's port on the network.
  const edgePort = await freePort();
  const [published] = services.nginx.ports![0].split(':');
  hosts[`localhost:${published}`] = `127.0.0.1:${edgePort}`;
  edge = `http://127.0.0.1:${edgePort}`;
  const apiNames = ['api1', 'api2', 'worker'];
  const gateways: Record<string, string> = {};
  for (const [inside, setting] of Object.entries(GATEWAY_PORTS)) gateways[setting] = String(inside.endsWith('/udp') ? await freeUdpPort() : await freePort());
  const httpPort: Record<string, number> = {};
  for (const name of apiNames) {
    httpPort[name] = await freePort();
    hosts[`${name}:8080`] = `127.0.0.1:${httpPort[name]}`;
  }
  // The data volume, shared by every service that mounts it.
  const data = processes.dataDir('dvr-compose-data-');
  const base = imageEnv();
  for (const name of apiNames) {
    const service = services[name];
    expect(service.volumes).toContain('data:/data');
    // API_PROCESSES as the image runs it on a 2-core host: a primary and one api process per core.
    const env: Record<string, string> = { ...base, ...gateways, HOST: '127.0.0.1', DATA_DIR: data, API_PROCESSES: '2' };
    for (const [k, v] of Object.entries(service.environment ?? {})) env[k] = local(String(v));
    // What the file publishes is where encoders go: a push URL names it.
    for (const mapping of service.ports ?? []) {
      const [outside, inside] = mapping.split(/:(.*)/);
      expect(outside).toBe(inside.replace('/udp', ''));
      if (GATEWAY_PORTS[inside] === 'RTMP_PORT') rtmpPorts.push(Number(gateways.RTMP_PORT));
    }
    api[name] = await processes.start(env, { dataDir: data, port: httpPort[name] });
  }
  expect(rtmpPorts).toHaveLength(1);

  // The edge: the file's template, rendered with the file's environment for nginx.
  const nginxEnv = Object.fromEntries(Object.entries(services.nginx.environment ?? {}).map(([k, v]) => [k, local(String(v))]));
  const dir = await nginxPrefix('dvr-compose-nginx-');
  // Mounted over the image's default site (its welcome page answers every request otherwise).
  const mount = services.nginx.volumes!.find((v) => v.includes('dvr.conf.template'))!;
  const [source, target] = mount.split(':');
  expect(target).toBe('/etc/nginx/templates/default.conf.template');
  const template = readFileSync(path.join(DEPLOY, source), 'utf8');
  const site = template
    .replaceAll('${DVR_LISTEN}', `127.0.0.1:${edgePort}`)
    .replaceAll('${DVR_UPSTREAM_SERVERS}', nginxEnv.DVR_UPSTREAM_SERVERS)
    .replaceAll('${DVR_CACHE_DIR}', path.join(dir, 'cache'));
  expect(site).not.toContain('${DVR_');
  for (const name of ['api1', 'api2']) expect(site).toContain(`server ${hosts[`${name}:8080`]};`);
  await writeFile(path.join(dir, 'dvr.conf'), site);
  nginx = await startNginx(dir, `  include ${path.join(dir, 'dvr.conf')};`, () => fetch(`${edge}/healthz`).then((r) => r.ok, () => false));

  // A company, with the admin CLI as the README says, against the same Redis.
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'company', 'create', '--name', 'Edge'], {
    cwd: ROOT, env: { ...process.env, ...base, REDIS_URL: local(services.api1.environment!.REDIS_URL), DATA_DIR: data },
  });
  apiKey = JSON.parse(stdout).api_key;
}, 180_000);

afterAll(async () => {
  await nginx?.stop();
  redis?.kill('SIGKILL');
});

describe('deploy/compose.yaml, its services as processes', () => {
  it('an encoder publishes to the push URL; a clip plays through the edge; the worker makes its VOD; with api1 gone, api2 answers', async () => {
    const created = await call('POST', '/streaming/streams', { name: 'from OBS' });
    expect(created.status, created.text).toBe(201);
    const stream = created.body;
    // The push URL names the published RTMP port on the public host.
    const push = new URL(stream.push_url);
    expect(push.hostname).toBe('127.0.0.1');
    expect(Number(push.port)).toBe(rtmpPorts[0]);
    const encoder = testEncoder(['-f', 'flv', stream.push_url], { seconds: 16 });
    const published = finished(encoder);
    const view = await until('8 s of DVR', async () => {
      const { body } = await call('GET', `/streaming/streams/${stream.id}`);
      return body.dvr_range && body.dvr_range.end - body.dvr_range.start >= 8 && body.renditions.every((r: { height?: number }) => r.height) ? body : undefined;
    }, 60_000, 500);

    // A clip of the past, through the edge, ready at once, with a VOD asked for.
    const made = await call('PUT', `/streaming/streams/${stream.id}/clip_recording`, { start: view.dvr_range.start + 2, duration: 4, vod_required: true });
    expect(made.status, made.text).toBe(200);
    const clip = made.body;
    expect(clip.status).toBe('ready');
    expect(new URL(clip.hls_master).origin).toBe(edge);
    const master = await (await get(new URL(clip.hls_master).pathname)).text();
    const media = new URL(master.split('\n').find((l) => l.endsWith('.m3u8'))!, clip.hls_master);
    const playlist = await (await get(media.pathname)).text();
    const chunk = new URL(playlist.split('\n').find((l) => l.endsWith('.ts'))!, media).pathname;
    expect((await get(chunk)).headers.get('x-cache-status')).toBe('MISS');
    expect((await get(chunk)).headers.get('x-cache-status')).toBe('HIT');
    expect(await decodeErrors(clip.hls_master)).toBe('');

    // Only the worker runs jobs: the VOD is its work, served by either api process from the shared volume.
    const video = await until('the VOD to be ready', async () => {
      const { body } = await call('GET', `/streaming/videos/${clip.video_id}`);
      if (body?.status === 'error') throw new Error(`VOD failed: ${JSON.stringify(body)}`);
      return body?.status === 'ready' ? body : undefined;
    }, 90_000, 500);
    expect(new URL(video.hls_url).origin).toBe(edge);
    expect(await decodeErrors(video.hls_url)).toBe('');
    const promoted = (name: string) => api[name].logs().some((l) => l.msg === 'vod promotion started' && l.video_id === clip.video_id);
    expect(promoted('worker')).toBe(true);
    expect(promoted('api1') || promoted('api2')).toBe(false);

    expect((await published).code).toBe(0);

    // api1 stops; nginx passes every request to api2.
    process.kill(api.api1.child.pid!, 'SIGTERM');
    await api.api1.exited;
    for (let i = 0; i < 6; i++) {
      const res = await call('GET', `/streaming/videos/${clip.video_id}`);
      expect(res.status, res.text).toBe(200);
    }
    const live = await get(new URL(stream.hls_url).pathname);
    expect(live.status).toBe(200);
    await waitFor(async () => (await get(new URL(clip.hls_master).pathname)).status === 200, 'the clip through api2', 10_000, 200);
  }, 240_000);
});
