// The records and distribution URLs carry tokens in their query string
// (the seed's design); request logs of these routes show the URL with
// those values replaced, so no token reaches a log.
import type { FastifyRequest } from 'fastify';

const SECRET_PARAM = /([?&](?:access_token|user_token)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAM, '$1[redacted]');
}

// Fastify types serializers as returning strings; pino takes any value.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LogSerializers = Record<string, (value: any) => string>;

export const redactingLogSerializers = {
  req(request: FastifyRequest) {
    return {
      method: request.method,
      url: redactUrl(request.url),
      host: request.host,
      remoteAddress: request.ip,
      remotePort: request.socket?.remotePort,
    };
  },
} as unknown as LogSerializers;
