// One delivery attempt: a POST with the signed headers, a timeout for the
// whole exchange, no redirect followed, and at most a few KiB of the answer
// read (a receiver cannot make the worker hold a huge body).
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, hostOf, isPrivateAddress } from './address.js';

export interface SendOptions {
  timeoutMs: number;
  maxResponseBytes: number;
  allowPrivate: boolean;
}

export interface Attempt {
  /** null: no HTTP answer (refused, timeout, connection error) */
  statusCode: number | null;
  ok: boolean;
  latencyMs: number;
  error: string | null;
  /** the start of the receiver's answer, for the delivery log */
  response: string;
}

const USER_AGENT = 'dvr-clipper-webhooks/1';
// Connections are kept alive between deliveries to a receiver. Each new one
// goes through the guarded lookup, so a kept socket never skips the check.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: 60_000 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: 60_000 }),
};
const LOGGED_RESPONSE_CHARS = 500;

export function send(url: string, headers: Record<string, string>, body: string, opts: SendOptions): Promise<Attempt> {
  const started = performance.now();
  const done = (a: Omit<Attempt, 'latencyMs'>): Attempt => ({ ...a, latencyMs: Math.round(performance.now() - started) });
  const target = new URL(url);
  const host = hostOf(target);
  if (!opts.allowPrivate && isIP(host) && isPrivateAddress(host)) {
    return Promise.resolve(done({ statusCode: null, ok: false, error: `refused: ${host} is a private address`, response: '' }));
  }
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    /** `reuse`: the answer was read to its end, so the connection may serve the next delivery. */
    const finish = (a: Omit<Attempt, 'latencyMs'>, reuse = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!reuse) req.destroy();
      resolve(done(a));
    };
    const req = client.request(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT, 'content-length': Buffer.byteLength(body), ...headers },
      lookup: guardedLookup(opts.allowPrivate) as never,
      agent: agents[target.protocol as 'http:' | 'https:'],
    });
    const timer = setTimeout(() => finish({ statusCode: null, ok: false, error: `timed out after ${opts.timeoutMs} ms`, response: '' }), opts.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish({ statusCode: null, ok: false, error: err.message || String(err.code), response: '' }));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      const answer = (reuse: boolean) => {
        const text = Buffer.concat(chunks).toString('utf8').slice(0, LOGGED_RESPONSE_CHARS);
        const ok = status >= 200 && status < 300;
        let error: string | null = null;
        if (status >= 300 && status < 400) error = `redirect (${status} to ${String(res.headers.location ?? '?').slice(0, 200)}) not followed`;
        else if (!ok) error = `answered ${status}`;
        finish({ statusCode: status, ok, error, response: text }, reuse);
      };
      res.on('data', (chunk: Buffer) => {
        const room = opts.maxResponseBytes - size;
        if (room > 0) chunks.push(chunk.subarray(0, room));
        size += chunk.length;
        if (size > opts.maxResponseBytes) answer(false); // the rest is never read
      });
      res.on('end', () => answer(true));
      res.on('error', () => answer(false));
    });
    req.end(body);
  });
}
