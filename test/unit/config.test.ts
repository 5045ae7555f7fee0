// Configuration is read and validated once; bad values name their variable.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

function refused(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      role: 'all',
      port: 8080,
      host: '0.0.0.0',
      publicBaseUrl: 'http://localhost:8080',
      redisUrl: '',
      dataDir: path.resolve('./data'),
      demo: true,
      logLevel: 'info',
      keyPrefix: 'dvr',
      maxChunkBytes: 64 * 1024 * 1024,
      maxBodyBytes: 64 * 1024,
      finalizeGraceSeconds: 20,
      jwtTtlSeconds: 3600,
      downloadTokenTtlSeconds: 1800,
    });
  });

  it('reads valid values', () => {
    const config = loadConfig({
      PORT: '9000', ROLE: 'worker', PUBLIC_BASE_URL: 'https://cdn.example.com/', REDIS_URL: 'redis://r:6379/2',
      DATA_DIR: '/tmp/x', DEMO: '0', KEY_PREFIX: 'a_b-1', MAX_CHUNK_BYTES: '2048', LOG_LEVEL: 'warn',
    });
    expect(config).toMatchObject({
      port: 9000, role: 'worker', publicBaseUrl: 'https://cdn.example.com', redisUrl: 'redis://r:6379/2',
      dataDir: '/tmp/x', demo: false, keyPrefix: 'a_b-1', maxChunkBytes: 2048, logLevel: 'warn',
    });
    expect(loadConfig({ PORT: '7000' }).publicBaseUrl).toBe('http://localhost:7000');
    expect(loadConfig({ DEMO: 'yes' }).demo).toBe(true);
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ PORT: '', ROLE: '', DEMO: '' })).toMatchObject({ port: 8080, role: 'all', demo: true });
  });

  it.each([
    [{ PORT: 'abc' }, /^PORT must be an integer/],
    [{ PORT: '80.5' }, /^PORT must be an integer/],
    [{ PORT: '70000' }, /^PORT must be between 0 and 65535/],
    [{ ROLE: 'both' }, /^ROLE must be one of api, worker, all/],
    [{ PUBLIC_BASE_URL: 'ftp://x' }, /^PUBLIC_BASE_URL must be an http\(s\) URL/],
    [{ PUBLIC_BASE_URL: 'not a url' }, /^PUBLIC_BASE_URL/],
    [{ REDIS_URL: 'http://localhost:6379' }, /^REDIS_URL must start with redis:\/\//],
    [{ DEMO: 'maybe' }, /^DEMO must be 0\/1 or true\/false/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL must be one of/],
    [{ KEY_PREFIX: 'a:b' }, /^KEY_PREFIX must be/],
    [{ KEY_PREFIX: 'x'.repeat(33) }, /^KEY_PREFIX must be/],
    [{ JWT_SECRET: 'short' }, /^JWT_SECRET must be at least 32 characters/],
    [{ MAX_CHUNK_BYTES: '100' }, /^MAX_CHUNK_BYTES must be between/],
    [{ MAX_BODY_BYTES: '1e6' }, /^MAX_BODY_BYTES must be an integer/],
    [{ FINALIZE_GRACE_SECONDS: '0' }, /^FINALIZE_GRACE_SECONDS/],
    [{ CLEANER_INTERVAL_MS: '-5' }, /^CLEANER_INTERVAL_MS/],
    [{ JWT_TTL_SECONDS: '10' }, /^JWT_TTL_SECONDS/],
  ])('refuses %j', (env, message) => {
    expect(refused(env as Record<string, string>)).toMatch(message);
  });

  it('quotes the bad value in the message', () => {
    expect(refused({ PORT: 'eighty' })).toContain('"eighty"');
  });
});
