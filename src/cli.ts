// Admin CLI: `npm run cli -- company create --name N`, `apikey create
// --client-id N`, `user create --client-id N --username U --password P`.
// Same configuration as the service, so it reaches the same Redis; prints JSON.
import { parseArgs } from 'node:util';
import pino from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { systemClock, type Context } from './context.js';
import { ReadyHooks } from './clips/ready-hooks.js';
import { RenditionProbes } from './dvr/rendition-probe.js';
import { createLogger } from './logging.js';
import { connectRedis } from './redis/connection.js';
import { joinOrStartEmbeddedRedis } from './redis/embedded.js';
import { makeKeys } from './redis/keys.js';
import { companyExists, createApiKey, createCompany } from './tenancy/companies.js';
import { cliCommands } from './cli-extra.js';

const USAGE = `usage:
  npm run cli -- company create --name NAME
  npm run cli -- apikey create --client-id N
  npm run cli -- user create --client-id N --username U --password P
  npm run cli -- user delete --user-id ID`;

class UsageError extends Error {}

function clientIdOf(value: string | undefined): number {
  if (!value || !/^[1-9][0-9]*$/.test(value)) throw new UsageError('--client-id must be a positive integer');
  return Number(value);
}

async function run(ctx: Context, argv: string[]): Promise<unknown> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' }, 'client-id': { type: 'string' }, username: { type: 'string' }, password: { type: 'string' },
      'user-id': { type: 'string' },
    },
  });
  const command = positionals.join(' ');
  if (command === 'company create') {
    if (!values.name?.trim()) throw new UsageError('--name is required');
    return createCompany(ctx, values.name.trim());
  }
  if (command === 'apikey create') {
    const clientId = clientIdOf(values['client-id']);
    if (!(await companyExists(ctx, clientId))) throw new UsageError(`company ${clientId} does not exist`);
    return { api_key: await createApiKey(ctx, clientId) };
  }
  const extra = cliCommands[command];
  if (extra) return extra(ctx, values, (m) => new UsageError(m));
  throw new UsageError(`unknown command "${command}"`);
}

async function main(): Promise<number> {
  const config = loadConfig();
  const log = createLogger('warn', pino.destination(2));
  const embedded = config.redisUrl ? null : await joinOrStartEmbeddedRedis(config.dataDir, log);
  const redis = await connectRedis(embedded?.url ?? config.redisUrl, 'dvr-cli', { cluster: !embedded && config.redisCluster });
  // No hooks: the CLI makes companies, keys and users, never clips.
  const ctx: Context = { config, redis, keys: makeKeys(config.keyPrefix), log, clock: systemClock, readyHooks: new ReadyHooks(), probes: new RenditionProbes() };
  try {
    process.stdout.write(JSON.stringify(await run(ctx, process.argv.slice(2))) + '\n');
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n${USAGE}\n`);
      return 64;
    }
    throw err;
  } finally {
    await redis.quit();
    await embedded?.stop();
  }
}

main().then((code) => process.exit(code), (err) => {
  process.stderr.write(`${err instanceof ConfigError ? 'configuration error' : 'error'}: ${err.message}\n`);
  process.exit(1);
});
