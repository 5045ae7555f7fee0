// Configuration is read and validated once; bad values name their variable.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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

describe('RTMPS settings', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dvr-rtmps-conf-'));
  const pair = (name: string) => {
    const keyFile = path.join(dir, `${name}.key`);
    const certFile = path.join(dir, `${name}.crt`);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', keyFile, '-out', certFile],
      { stdio: 'ignore' });
    return { RTMPS_CERT_FILE: certFile, RTMPS_KEY_FILE: keyFile };
  };
  const one = pair('one');
  const other = pair('other');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('off without a certificate; on 1936 with one; RTMPS_PORT=0 turns it off', () => {
    expect(loadConfig({})).toMatchObject({ rtmpsPort: 0, rtmpsCertFile: '', rtmpsKeyFile: '' });
    expect(loadConfig({ RTMPS_PORT: '2000' }).rtmpsPort).toBe(0);
    expect(loadConfig(one)).toMatchObject({ rtmpsPort: 1936, rtmpsCertFile: one.RTMPS_CERT_FILE, rtmpsKeyFile: one.RTMPS_KEY_FILE });
    expect(loadConfig({ ...one, RTMPS_PORT: '4443' }).rtmpsPort).toBe(4443);
    expect(loadConfig({ ...one, RTMPS_PORT: '0' }).rtmpsPort).toBe(0);
  });

  it('refuses half a pair, unreadable or wrong files, a key of another certificate, and ports that cannot work', () => {
    expect(refused({ RTMPS_CERT_FILE: one.RTMPS_CERT_FILE })).toMatch(/^RTMPS_KEY_FILE must be set too/);
    expect(refused({ RTMPS_KEY_FILE: one.RTMPS_KEY_FILE })).toMatch(/^RTMPS_CERT_FILE must be set too/);
    expect(refused({ ...one, RTMPS_CERT_FILE: path.join(dir, 'missing.crt') })).toMatch(/^RTMPS_CERT_FILE must be a readable file/);
    expect(refused({ ...one, RTMPS_CERT_FILE: one.RTMPS_KEY_FILE })).toMatch(/^RTMPS_CERT_FILE must hold a certificate/);
    expect(refused({ ...one, RTMPS_KEY_FILE: one.RTMPS_CERT_FILE })).toMatch(/^RTMPS_KEY_FILE must hold/);
    expect(refused({ ...one, RTMPS_KEY_FILE: other.RTMPS_KEY_FILE })).toMatch(/^RTMPS_KEY_FILE .*not the key of RTMPS_CERT_FILE/);
    expect(refused({ ...one, RTMPS_CERT_FILE: path.join(dir, 'a$b.crt') })).toMatch(/^RTMPS_CERT_FILE must not contain \$/);
    expect(refused({ ...one, RTMPS_PORT: 'tls' })).toMatch(/^RTMPS_PORT must be an integer/);
    expect(refused({ ...one, RTMPS_PORT: '70000' })).toMatch(/^RTMPS_PORT must be between 0 and 65535/);
    expect(refused({ ...one, RTMPS_PORT: '1935' })).toMatch(/^RTMPS_PORT must differ from RTMP_PORT/);
    expect(refused({ ...one, RTMP_PORT: '0' })).toMatch(/^RTMPS_CERT_FILE needs RTMP_PORT/);
  });

  it.runIf(process.getuid?.() !== 0)('refuses a key file the service cannot read', () => {
    const locked = path.join(dir, 'locked.key');
    writeFileSync(locked, 'x');
    chmodSync(locked, 0o000);
    expect(refused({ ...one, RTMPS_KEY_FILE: locked })).toMatch(/^RTMPS_KEY_FILE must be a readable file/);
  });
});
