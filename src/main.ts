// Entry point: reads the configuration, starts Redis if none was given,
// then the api and/or workers of this process's role.
//
// With API_PROCESSES > 1 (default: one per core) this process is the
// primary: it runs the embedded Redis, the workers (role `all`), the demo
// and the first-run print, and forks that many api processes that share the
// port (node:cluster). A signal to the primary or to the whole process group
// stops the api processes first, then the workers, then Redis.
import cluster, { type Worker as ApiProcess } from 'node:cluster';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import { prepareDemo } from './demo/first-run.js';
import { createLogger } from './logging.js';
import { closeRedis, connectRedis } from './redis/connection.js';
import { startEmbeddedRedis, type EmbeddedRedis } from './redis/embedded.js';
import { startService, type Service } from './service.js';
import { within } from './util/within.js';

/** The primary tells its api processes where the embedded Redis is (REDIS_URL takes URLs only). */
const EMBEDDED_SOCKET_ENV = 'DVR_EMBEDDED_REDIS_SOCKET';
const PROCESS_INDEX_ENV = 'DVR_API_PROCESS';

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** Runs `stop` once, on the first SIGINT or SIGTERM (a group signal and the primary's own may both come). */
function onSignals(log: Logger, forceAfterMs: number, stop: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing requests and jobs');
    setTimeout(() => {
      log.error({ after_ms: forceAfterMs }, 'shutdown took too long: exiting anyway');
      process.exit(1);
    }, forceAfterMs).unref();
    stop().then(() => process.exit(0), (err) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => handle('SIGINT'));
  process.on('SIGTERM', () => handle('SIGTERM'));
  // An api process whose primary is gone (killed) stops too.
  if (cluster.isWorker) process.on('disconnect', () => handle('primary gone'));
}

async function startEmbedded(config: Config, log: Logger): Promise<{ config: Config; embedded: EmbeddedRedis | null }> {
  if (config.redisUrl) return { config, embedded: null };
  const embedded = await startEmbeddedRedis(config.dataDir, log);
  log.info({ socket: embedded.url }, 'embedded redis-server started (set REDIS_URL to use your own)');
  return { config: { ...config, redisUrl: embedded.url }, embedded };
}

/** Force-exit bound: jobs get shutdownTimeoutMs, the rest of the shutdown a little more. */
const forceAfter = (config: Config) => config.shutdownTimeoutMs + 15_000;

async function singleProcess(base: Config, log: Logger): Promise<void> {
  const { config, embedded } = await startEmbedded(base, log);
  const service = await startService(config, { log });
  if (service.app) await service.app.listen({ port: config.port, host: config.host });
  const demo = config.role !== 'worker' ? await prepareDemo(service.ctx) : null;
  log.info({ role: config.role, port: config.port, base: config.publicBaseUrl }, 'service ready');
  onSignals(log, forceAfter(config), async () => {
    await demo?.stop();
    await service.close();
    await embedded?.stop();
    log.info('stopped');
  });
}

/** One of the primary's api processes. */
async function apiProcess(base: Config, log: Logger): Promise<void> {
  const index = process.env[PROCESS_INDEX_ENV] ?? '?';
  const config: Config = { ...base, role: 'api', redisUrl: process.env[EMBEDDED_SOCKET_ENV] || base.redisUrl };
  // Which process answered: for operators behind a load balancer, and the tests.
  const service = await startService(config, { log: log.child({ api_process: index }), responseHeaders: { 'x-api-process': String(index) } });
  const app = service.app!;
  onSignals(log, forceAfter(config), async () => {
    await service.close();
    log.info({ api_process: index }, 'api process stopped');
  });
  await app.listen({ port: config.port, host: config.host });
}

/**
 * An api process that dies soon after it started is started again later and
 * later (1 s, doubling, at most 30 s), not once a second for ever.
 */
const RESTART_MS = { first: 1000, max: 30_000, livedLongEnough: 10_000 };

async function primary(base: Config, log: Logger): Promise<void> {
  const { config, embedded } = await startEmbedded(base, log);
  // The workers run here once, shared by every api process; without them,
  // Redis is asked here once first, so that one that refuses stops the boot
  // with its reason (connectRedis) rather than every api process in turn.
  const service: Service | null = config.role === 'all' ? await startService({ ...config, role: 'worker' }, { log }) : null;
  if (!service) await closeRedis(await connectRedis(config.redisUrl, 'dvr-boot-check', { cluster: config.redisCluster, failFastMs: 5000 }));
  let stopping = false;
  let booting = true;
  const children = new Set<ApiProcess>();
  const restartIn = new Map<number, number>();
  const failedAtBoot: number[] = [];
  const restart = (index: number, lived: number, why: Record<string, unknown>) => {
    const wait = lived >= RESTART_MS.livedLongEnough ? RESTART_MS.first : Math.min(RESTART_MS.max, (restartIn.get(index) ?? RESTART_MS.first / 2) * 2);
    restartIn.set(index, wait);
    log.error({ api_process: index, ...why, lived_ms: lived, restart_in_ms: wait }, 'api process exited: starting another');
    // Not unref'd: a primary without workers or an embedded Redis (ROLE=api)
    // has nothing else keeping it alive while every api process is down.
    setTimeout(() => { if (!stopping) void fork(index); }, wait);
  };
  /** Resolves true once the process listens, false if it exited before. */
  const fork = (index: number): Promise<boolean> => new Promise((resolve) => {
    const child = cluster.fork({
      ROLE: 'api', [PROCESS_INDEX_ENV]: String(index), [EMBEDDED_SOCKET_ENV]: embedded?.url ?? '',
    });
    const startedAt = Date.now();
    let listened = false;
    children.add(child);
    child.once('listening', () => {
      listened = true;
      resolve(true);
    });
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve(false);
      if (stopping) return;
      // At boot, whether to go on is decided once every process listened or exited.
      if (booting && !listened) {
        failedAtBoot.push(index);
        log.error({ api_process: index, code, signal }, 'api process exited before it listened');
        return;
      }
      restart(index, Date.now() - startedAt, { code, signal });
    });
  });
  const listening = await Promise.all(Array.from({ length: config.apiProcesses }, (_, i) => fork(i + 1)));
  booting = false;
  if (!listening.includes(true)) {
    // Nothing serves (the port is taken, say): each process printed why; saying ready would be a lie.
    stopping = true;
    log.error({ port: config.port, api_processes: config.apiProcesses }, 'no api process could start (each printed why above): stopping');
    await service?.close();
    await embedded?.stop();
    process.exit(1);
  }
  for (const index of failedAtBoot) restart(index, 0, { at_boot: true });
  const demo = service ? await prepareDemo(service.ctx) : null;
  log.info({ role: config.role, port: config.port, base: config.publicBaseUrl, api_processes: config.apiProcesses },
    'service ready');

  onSignals(log, forceAfter(config), async () => {
    stopping = true;
    await demo?.stop();
    // Each api process finishes its requests (a group signal reached them already; once is enough).
    const exited = Promise.all([...children].map((child) => new Promise((resolve) => {
      if (child.isDead()) return resolve(undefined);
      child.once('exit', resolve);
      child.process.kill('SIGTERM');
    })));
    if (!(await within(exited, forceAfter(config) - 5000))) {
      for (const child of children) child.process.kill('SIGKILL');
    }
    await service?.close();
    await embedded?.stop();
    log.info('stopped');
  });
}

async function main(): Promise<void> {
  const config = readConfig();
  const log = createLogger(config.logLevel);
  if (cluster.isWorker) return apiProcess(config, log);
  if (config.role === 'worker' || config.apiProcesses <= 1) return singleProcess(config, log);
  return primary(config, log);
}

main().catch((err) => {
  process.stderr.write(`failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
