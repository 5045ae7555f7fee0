// The process logger of every entry point (service, main, CLI), so that the
// fields that carry secrets are redacted the same way everywhere.
import pino, { type DestinationStream, type Logger } from 'pino';

/** Log fields that may hold an API key, a password or a token. */
const REDACTED_LOG_PATHS = ['req.headers.authorization', 'api_key', 'password', 'access_token', 'user_token'];

/** Writes to stdout unless another destination is given. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, redact: REDACTED_LOG_PATHS }, destination);
}
