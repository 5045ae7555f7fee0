// Entry point: reads the configuration, starts Redis if none was given,
// then the api and/or workers of this process's role.
import { ConfigError, loadConfig } from './config.js';
import { prepareDemo } from './demo/first-run.js';
import { createLogger } from './logging.js';
import { startEmbeddedRedis } from './redis/embedded.js';
import { startService } from './service.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  const embedded = config.redisUrl ? null : await startEmbeddedRedis(config.dataDir, log);
  if (embedded) {
    config = { ...config, redisUrl: embedded.url };
    log.info({ socket: embedded.url }, 'embedded redis-server started (set REDIS_URL to use your own)');
  }
  const service = await startService(config, { log });
  if (service.app) {
    await service.app.listen({ port: config.port, host: config.host });
  }
  const demo = config.role !== 'worker' ? await prepareDemo(service.ctx) : null;
  log.info({ role: config.role, port: config.port, base: config.publicBaseUrl }, 'service ready');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing requests and jobs');
    const force = setTimeout(() => process.exit(1), 30_000).unref();
    await demo?.stop();
    await service.close();
    await embedded?.stop();
    clearTimeout(force);
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
