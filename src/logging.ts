// The process logger of every entry point (service, main, CLI), so that
// secrets are redacted the same way everywhere:
// - fields that carry them (the Authorization header, api_key, password, …);
// - request URLs (the `req` serializer, which Fastify uses for every request
//   line, a matched route or not): query parameters that carry tokens, and
//   the path segments that are keys (a stream's push key, a live play key, a
//   VOD's secret);
// - and, as the last line of defence, such query parameters anywhere in the
//   written line (an error message that quotes a URL).
import pino, { type DestinationStream, type Logger } from 'pino';
import { isRedisUnavailable } from './redis/health.js';

/** An error that only says Redis is away needs no stack trace (it would print one per background task). */
const errSerializer = (err: unknown) => isRedisUnavailable(err)
  ? { type: (err as Error).name, message: (err as Error).message, code: (err as NodeJS.ErrnoException).code }
  : pino.stdSerializers.err(err as Error);

/** Log fields that may hold an API key, a password or a token. */
const REDACTED_LOG_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'api_key', 'password', 'access_token', 'user_token', 'token',
];

const SECRET_QUERY_NAMES = 'access_token|user_token|token|api_key|apikey|key|secret|password|signature|sig|jwt';
// A value ends where the query parameter ends, or where the JSON string does.
const SECRET_QUERY = new RegExp(`([?&](?:${SECRET_QUERY_NAMES})=)[^&#"\\s\\\\]*`, 'gi');
const SECRET_PATHS: RegExp[] = [
  /^(\/ingest\/)[^/?#]+/, // the stream key of push_url_hls
  /^(\/live\/[^/?#]+\/)[^/?#]+/, // the play key of hls_url
  /^(\/vod\/[^/?#]+\/)[^/?#]+/, // a VOD's secret
];
const REDACTED = '[redacted]';

/** A URL (path and query) with its secrets replaced. */
export function redactUrl(url: string): string {
  let out = url.replace(SECRET_QUERY, `$1${REDACTED}`);
  for (const path of SECRET_PATHS) out = out.replace(path, `$1${REDACTED}`);
  return out;
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  socket?: { remoteAddress?: string; remotePort?: number };
}

/** Fastify's request line, with the URL redacted; also takes a bare http.IncomingMessage. */
function requestSerializer(request: LoggedRequest) {
  return {
    method: request.method,
    url: typeof request.url === 'string' ? redactUrl(request.url) : request.url,
    host: request.host ?? request.headers?.host,
    remoteAddress: request.ip ?? request.socket?.remoteAddress,
    remotePort: request.socket?.remotePort,
  };
}

/** Writes to stdout unless another destination is given. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    redact: REDACTED_LOG_PATHS,
    serializers: { req: requestSerializer, err: errSerializer },
    hooks: { streamWrite: (line: string) => line.replace(SECRET_QUERY, `$1${REDACTED}`) },
  }, destination);
}

/**
 * Fastify's per-request logger, made only when a line is written at a level
 * the request logs. Fastify makes one child logger per request (its bindings
 * serialized at once); on the viewer paths, which log nothing below warn,
 * that child was a third of the cost of a cached playlist. Same lines, same
 * bindings, same redaction: the real child is pino's own, made on first use.
 * A class, not closures: nothing is allocated per request but the object.
 */
class LazyRequestLogger {
  private real: Logger | undefined;
  private readonly threshold: number;
  readonly level: string;

  constructor(private readonly parent: Logger, private readonly bindingsOf: pino.Bindings, private readonly opts: pino.ChildLoggerOptions) {
    this.level = opts.level ?? parent.level;
    this.threshold = parent.levels.values[this.level] ?? Infinity;
  }

  get levels() { return this.parent.levels; }
  isLevelEnabled(level: string): boolean { return (this.parent.levels.values[level] ?? -Infinity) >= this.threshold; }
  bindings(): pino.Bindings { return { ...this.parent.bindings(), ...this.bindingsOf }; }
  child(bindings: pino.Bindings, opts?: pino.ChildLoggerOptions): Logger { return this.logger().child(bindings, opts); }
  fatal(...args: unknown[]): void { this.write('fatal', args); }
  error(...args: unknown[]): void { this.write('error', args); }
  warn(...args: unknown[]): void { this.write('warn', args); }
  info(...args: unknown[]): void { this.write('info', args); }
  debug(...args: unknown[]): void { this.write('debug', args); }
  trace(...args: unknown[]): void { this.write('trace', args); }
  silent(): void {}

  private logger(): Logger {
    return (this.real ??= this.parent.child(this.bindingsOf, this.opts));
  }

  private write(level: pino.Level, args: unknown[]): void {
    if (this.parent.levels.values[level] < this.threshold) return;
    (this.logger()[level] as (...a: unknown[]) => void)(...args);
  }
}

export function lazyRequestLogger(logger: Logger, bindings: pino.Bindings, opts: pino.ChildLoggerOptions): Logger {
  return new LazyRequestLogger(logger, bindings, opts) as unknown as Logger;
}
