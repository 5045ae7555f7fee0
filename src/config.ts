// Every setting of the service, read from the environment once at boot and
// validated here, so a typo stops the boot with the variable's name instead
// of turning into NaN somewhere deep inside.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Role = 'api' | 'worker' | 'all';

export interface Config {
  role: Role;
  port: number;
  host: string;
  publicBaseUrl: string;
  /** Empty: run a private redis-server under dataDir (the embedded default). */
  redisUrl: string;
  /** REDIS_URL names a node (or several, comma-separated) of a Redis Cluster. */
  redisCluster: boolean;
  dataDir: string;
  demo: boolean;
  logLevel: string;
  /** Prefix of every Redis key and BullMQ queue, so tests can share one Redis. */
  keyPrefix: string;
  maxChunkBytes: number;
  maxPlaylistBytes: number;
  maxBodyBytes: number;
  /** Seconds without a chunk after which a recording clip is finalized with what it has. */
  finalizeGraceSeconds: number;
  /** How often the DVR cleaner retires chunks that left the window. */
  cleanerIntervalMs: number;
  /** Bytes of built playlists (ready clips, live windows; plain and gzip) kept in each process. */
  playlistCacheBytes: number;
  /** Bytes of chunks kept in each process's memory (chunks never change once stored). */
  chunkCacheBytes: number;
  /** s-maxage of a clip's chunks and ready playlists: how soon a shared cache (CDN, nginx) notices a deleted clip. */
  edgeRevalidateSeconds: number;
  /** Background media tasks (MP4 prebuilds, ...) one process runs at once. */
  backgroundConcurrency: number;
  mp4CacheBytes: number;
  mp4Prebuild: boolean;
  ffmpegTimeoutMs: number;
  /** How long past its expiration a vod_required clip keeps its chunks for a promotion not done yet. */
  vodHoldSeconds: number;
  /** Unexpired clips one stream may have; creating one more answers 422. */
  maxClipsPerStream: number;
  /** VOD promotions one worker process runs at once. */
  vodConcurrency: number;
  /** BullMQ lock of a VOD job: a worker that died is noticed after about this long. */
  jobLockMs: number;
  /** Tests only: a pause after each chunk a VOD promotion copies, to catch it mid-way. */
  vodStepDelayMs: number;
  /** Empty: a random secret made once and kept in Redis (tenancy/user-tokens.ts). */
  jwtSecret: string;
  jwtTtlSeconds: number;
  downloadTokenTtlSeconds: number;
  /** PEM private key (Ed25519, P-256 or RSA) for download links; empty: generated under dataDir/keys. */
  downloadSigningKeyFile: string;
  /** Failed logins, per username and per client IP, before further attempts are refused for the window. */
  loginMaxFailuresPerUser: number;
  loginMaxFailuresPerIp: number;
  loginFailureWindowSeconds: number;
  /** Make a thumbnail tile of every chunk (storyboards, screenshots). */
  thumbnails: boolean;
  /** A Redis command a request waits on fails after this long (then 503), as do all while Redis is unreachable. */
  redisCommandTimeoutMs: number;
  /** How long a shutdown waits for running jobs before leaving them to be retried. */
  shutdownTimeoutMs: number;
  /** A client must send its request headers within this long. */
  headersTimeoutMs: number;
  /** A client must send the whole request (headers and body) within this long, except ingest. */
  requestTimeoutMs: number;
  /** The same bound for an encoder's upload (PUT/POST /ingest/...). */
  ingestTimeoutMs: number;
  /** Uploads received at once, per stream and for the whole process; past either, 503 with Retry-After. */
  maxUploadsPerStream: number;
  maxUploads: number;
  /** HTTP processes sharing the port (`all` role): 1 runs everything in one process. */
  apiProcesses: number;
  /** Webhooks (src/events): one delivery attempt's timeout. */
  webhookTimeoutMs: number;
  /** First retry delay; each next one doubles (with jitter) up to webhookBackoffMaxMs. */
  webhookBackoffMs: number;
  webhookBackoffMaxMs: number;
  /** How long an event is retried before it is given up. */
  webhookRetrySeconds: number;
  /** An endpoint failing without a success for this long is disabled. */
  webhookDisableAfterSeconds: number;
  /** Tests and private networks only: deliver to private, loopback and link-local addresses. */
  webhookAllowPrivate: boolean;
  /** Bytes of a receiver's answer read (the rest is dropped). */
  webhookMaxResponseBytes: number;
  /** Delivery attempts kept per endpoint, and for how long. */
  webhookLogEntries: number;
  webhookLogSeconds: number;
  /** How often outboxes are swept for events not relayed yet (a crash, stream.live/offline). */
  webhookSweepMs: number;
  webhookConcurrency: number;
  /** RTMP ingest port (nginx-rtmp run by the service); 0: no RTMP. */
  rtmpPort: number;
  /** RTMPS port (TLS ended by the same nginx, then plain RTMP on rtmpPort); 0: no RTMPS, as when no certificate is configured. */
  rtmpsPort: number;
  /** PEM certificate (chain) and its private key for RTMPS; both empty: no RTMPS. */
  rtmpsCertFile: string;
  rtmpsKeyFile: string;
  /** SRT ingest port, one for every stream (routed by streamid); 0: no SRT. */
  srtPort: number;
  srtLatencyMs: number;
  /** Empty: SRT without encryption; else 10-79 characters every SRT publisher must give. */
  srtPassphrase: string;
  /** Length of the chunks the RTMP/SRT gateways cut, seconds (on the source's keyframes). */
  gatewayChunkSeconds: number;
  /** Host named in push_url / push_url_srt; empty: the host of PUBLIC_BASE_URL. */
  ingestHost: string;
  /** Pull from private and loopback addresses too (tests, private origins). */
  pullAllowPrivate: boolean;
}

type Env = Record<string, string | undefined>;

export class ConfigError extends Error {}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be 0/1 or true/false, got "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function url(name: string, raw: string): string {
  try {
    const parsed = new URL(raw);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('protocol');
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

export function loadConfig(env: Env = process.env): Config {
  const port = int(env, 'PORT', 8080, 0, 65535);
  const host = env.HOST || '0.0.0.0';
  const redisUrl = env.REDIS_URL ?? '';
  const redisCluster = bool(env, 'REDIS_CLUSTER', false);
  if (redisCluster && !redisUrl) throw new ConfigError('REDIS_CLUSTER=1 needs REDIS_URL: a node of the cluster (redis://host:port)');
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError(`REDIS_URL must start with redis:// or rediss://, got "${redisUrl}"`);
  }
  const keyPrefix = env.KEY_PREFIX || 'dvr';
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(keyPrefix)) {
    throw new ConfigError(`KEY_PREFIX must be 1-32 characters of [A-Za-z0-9_-], got "${keyPrefix}"`);
  }
  const jwtSecret = env.JWT_SECRET ?? '';
  if (jwtSecret && jwtSecret.length < 32) throw new ConfigError('JWT_SECRET must be at least 32 characters');
  return {
    role: oneOf(env, 'ROLE', 'all', ['api', 'worker', 'all'] as const),
    port,
    host,
    publicBaseUrl: url('PUBLIC_BASE_URL', env.PUBLIC_BASE_URL || `http://localhost:${port}`),
    redisUrl,
    redisCluster,
    dataDir: path.resolve(env.DATA_DIR || './data'),
    demo: bool(env, 'DEMO', true),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    keyPrefix,
    maxChunkBytes: int(env, 'MAX_CHUNK_BYTES', 64 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxPlaylistBytes: int(env, 'MAX_PLAYLIST_BYTES', 1024 * 1024, 1024, 64 * 1024 * 1024),
    maxBodyBytes: int(env, 'MAX_BODY_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024),
    finalizeGraceSeconds: int(env, 'FINALIZE_GRACE_SECONDS', 20, 1, 3600),
    cleanerIntervalMs: int(env, 'CLEANER_INTERVAL_MS', 10_000, 100, 3_600_000),
    playlistCacheBytes: int(env, 'PLAYLIST_CACHE_BYTES', 64 * 1024 * 1024, 0, 16 * 1024 * 1024 * 1024),
    chunkCacheBytes: int(env, 'CHUNK_CACHE_BYTES', 256 * 1024 * 1024, 0, 64 * 1024 * 1024 * 1024),
    edgeRevalidateSeconds: int(env, 'EDGE_REVALIDATE_SECONDS', 10, 1, 86_400),
    // Half the cores (one on two): the other half stays free for requests and ingest.
    backgroundConcurrency: int(env, 'BACKGROUND_CONCURRENCY', Math.max(1, Math.floor(os.availableParallelism() / 2)), 1, 256),
    mp4CacheBytes: int(env, 'MP4_CACHE_BYTES', 512 * 1024 * 1024, 0, 64 * 1024 * 1024 * 1024),
    mp4Prebuild: bool(env, 'MP4_PREBUILD', true),
    ffmpegTimeoutMs: int(env, 'FFMPEG_TIMEOUT_MS', 120_000, 1000, 3_600_000),
    vodHoldSeconds: int(env, 'VOD_HOLD_SECONDS', 6 * 3600, 0, 7 * 24 * 3600),
    maxClipsPerStream: int(env, 'MAX_CLIPS_PER_STREAM', 10_000, 1, 1_000_000),
    vodConcurrency: int(env, 'VOD_CONCURRENCY', 2, 1, 64),
    jobLockMs: int(env, 'JOB_LOCK_MS', 30_000, 1000, 600_000),
    vodStepDelayMs: int(env, 'VOD_STEP_DELAY_MS', 0, 0, 60_000),
    jwtSecret,
    jwtTtlSeconds: int(env, 'JWT_TTL_SECONDS', 3600, 60, 30 * 24 * 3600),
    downloadTokenTtlSeconds: int(env, 'DOWNLOAD_TOKEN_TTL_SECONDS', 1800, 60, 24 * 3600),
    downloadSigningKeyFile: env.DOWNLOAD_SIGNING_KEY_FILE ? path.resolve(env.DOWNLOAD_SIGNING_KEY_FILE) : '',
    loginMaxFailuresPerUser: int(env, 'LOGIN_MAX_FAILURES_PER_USER', 10, 1, 1_000_000),
    loginMaxFailuresPerIp: int(env, 'LOGIN_MAX_FAILURES_PER_IP', 30, 1, 1_000_000),
    loginFailureWindowSeconds: int(env, 'LOGIN_FAILURE_WINDOW_SECONDS', 600, 1, 24 * 3600),
    thumbnails: bool(env, 'THUMBNAILS', true),
    redisCommandTimeoutMs: int(env, 'REDIS_COMMAND_TIMEOUT_MS', 2000, 100, 60_000),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 20_000, 1000, 600_000),
    headersTimeoutMs: int(env, 'HEADERS_TIMEOUT_MS', 10_000, 1000, 600_000),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 30_000, 1000, 3_600_000),
    ingestTimeoutMs: int(env, 'INGEST_TIMEOUT_MS', 120_000, 1000, 3_600_000),
    maxUploadsPerStream: int(env, 'MAX_UPLOADS_PER_STREAM', 12, 1, 10_000),
    maxUploads: int(env, 'MAX_UPLOADS', 64, 1, 100_000),
    apiProcesses: int(env, 'API_PROCESSES', os.availableParallelism(), 1, 256),
    webhookTimeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 300_000),
    webhookBackoffMs: int(env, 'WEBHOOK_BACKOFF_MS', 5_000, 1, 3_600_000),
    webhookBackoffMaxMs: int(env, 'WEBHOOK_BACKOFF_MAX_MS', 3_600_000, 1, 24 * 3_600_000),
    webhookRetrySeconds: int(env, 'WEBHOOK_RETRY_SECONDS', 24 * 3600, 1, 7 * 24 * 3600),
    webhookDisableAfterSeconds: int(env, 'WEBHOOK_DISABLE_AFTER_SECONDS', 24 * 3600, 1, 30 * 24 * 3600),
    webhookAllowPrivate: bool(env, 'WEBHOOK_ALLOW_PRIVATE', false),
    webhookMaxResponseBytes: int(env, 'WEBHOOK_MAX_RESPONSE_BYTES', 4096, 0, 1024 * 1024),
    webhookLogEntries: int(env, 'WEBHOOK_LOG_ENTRIES', 1000, 1, 100_000),
    webhookLogSeconds: int(env, 'WEBHOOK_LOG_SECONDS', 7 * 24 * 3600, 60, 90 * 24 * 3600),
    webhookSweepMs: int(env, 'WEBHOOK_SWEEP_MS', 1000, 50, 3_600_000),
    webhookConcurrency: int(env, 'WEBHOOK_CONCURRENCY', 20, 1, 1000),
    ...gatewaySettings(env),
  };
}

function gatewaySettings(env: Env) {
  const srtPassphrase = env.SRT_PASSPHRASE ?? '';
  if (srtPassphrase && (srtPassphrase.length < 10 || srtPassphrase.length > 79)) {
    throw new ConfigError('SRT_PASSPHRASE must have 10 to 79 characters (libsrt\'s rule)');
  }
  const ingestHost = env.INGEST_HOST ?? '';
  if (ingestHost && !/^[A-Za-z0-9.:\[\]-]{1,253}$/.test(ingestHost)) throw new ConfigError(`INGEST_HOST must be a host name or address, got "${ingestHost}"`);
  const rtmpPort = int(env, 'RTMP_PORT', 1935, 0, 65535);
  return {
    rtmpPort,
    ...rtmpsSettings(env, rtmpPort),
    srtPort: int(env, 'SRT_PORT', 8890, 0, 65535),
    srtLatencyMs: int(env, 'SRT_LATENCY_MS', 120, 20, 8000),
    srtPassphrase,
    gatewayChunkSeconds: int(env, 'GATEWAY_CHUNK_SECONDS', 2, 1, 10),
    ingestHost,
    pullAllowPrivate: bool(env, 'PULL_ALLOW_PRIVATE', false),
  };
}

/** A PEM file nginx will load: readable, parseable, and a path its configuration can hold. */
function pemFile(env: Env, name: string, parse: (pem: string) => unknown, what: string): string {
  const file = path.resolve(env[name]!);
  // The path goes into nginx's configuration, quoted; `$` would be read as a variable there.
  if (/[$"\\\x00-\x1f]/.test(file)) throw new ConfigError(`${name} must not contain $, quotes, backslashes or control characters: "${file}"`);
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${name} must be a readable file: ${(err as Error).message}`);
  }
  try {
    parse(pem);
  } catch (err) {
    throw new ConfigError(`${name} must hold ${what} in PEM: ${(err as Error).message}`);
  }
  return file;
}

/**
 * RTMPS only where a certificate is configured: both files or neither, checked
 * here (readable, PEM, the key matching the certificate) so that a mistake
 * stops the boot naming its variable instead of failing inside nginx.
 */
function rtmpsSettings(env: Env, rtmpPort: number): { rtmpsPort: number; rtmpsCertFile: string; rtmpsKeyFile: string } {
  const port = int(env, 'RTMPS_PORT', 1936, 0, 65535);
  const hasCert = Boolean(env.RTMPS_CERT_FILE);
  const hasKey = Boolean(env.RTMPS_KEY_FILE);
  if (hasCert !== hasKey) throw new ConfigError(`${hasCert ? 'RTMPS_KEY_FILE' : 'RTMPS_CERT_FILE'} must be set too: RTMPS needs both a certificate and its key`);
  if (!hasCert || port === 0) return { rtmpsPort: 0, rtmpsCertFile: '', rtmpsKeyFile: '' };
  if (rtmpPort === 0) throw new ConfigError('RTMPS_CERT_FILE needs RTMP_PORT (not 0): RTMPS ends TLS in front of the RTMP server');
  if (port === rtmpPort) throw new ConfigError(`RTMPS_PORT must differ from RTMP_PORT (${rtmpPort})`);
  let cert: X509Certificate | undefined;
  const certFile = pemFile(env, 'RTMPS_CERT_FILE', (pem) => (cert = new X509Certificate(pem)), 'a certificate');
  const keyFile = pemFile(env, 'RTMPS_KEY_FILE', (pem) => {
    const key = createPrivateKey(pem);
    if (!cert!.checkPrivateKey(key)) throw new Error('it is not the key of RTMPS_CERT_FILE\'s certificate');
  }, 'the certificate\'s private key');
  return { rtmpsPort: port, rtmpsCertFile: certFile, rtmpsKeyFile: keyFile };
}
