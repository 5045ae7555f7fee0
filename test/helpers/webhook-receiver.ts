// A webhook receiver on 127.0.0.1 for the tests: it verifies every
// signature with the endpoint's secret (as a customer's would, with
// node:crypto alone) and answers as the test tells it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  id: string;
  timestamp: number;
  signatures: string[];
  body: string;
  type: string;
  data: Record<string, unknown>;
  /** Checked against the secret the test set (receiver.secret) when it arrived. */
  verified: boolean;
  /** How many requests came before this one (0 for the first). */
  n: number;
  at: number;
}

export type Answer = { status?: number; body?: string | Buffer; headers?: Record<string, string>; hang?: boolean; delayMs?: number };

export interface Receiver {
  url: string;
  port: number;
  /** Every request, in arrival order (failed ones too). */
  requests: Received[];
  secret: string;
  /** Decides each answer (default 204). */
  answer: (r: Received) => Answer;
  /** Requests answered 2xx, in order. */
  delivered(): Received[];
  close(): Promise<void>;
}

/** The README's few lines of verification. */
export function verifySignature(secret: string, id: string, timestamp: string, body: string, header: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = Buffer.from(`v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`);
  return header.split(' ').some((sig) => sig.length === expected.length && timingSafeEqual(Buffer.from(sig), expected));
}

export async function startReceiver(): Promise<Receiver> {
  const sockets = new Set<import('node:net').Socket>();
  const okIds: Received[] = [];
  const receiver: Receiver = {
    url: '', port: 0, requests: [], secret: '', answer: () => ({ status: 204 }),
    delivered: () => okIds,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id'] ?? '');
      const ts = String(req.headers['webhook-timestamp'] ?? '');
      const sig = String(req.headers['webhook-signature'] ?? '');
      let parsed: { type?: string; data?: Record<string, unknown> } = {};
      try {
        parsed = JSON.parse(body);
      } catch { /* recorded as is */ }
      const r: Received = {
        id, timestamp: Number(ts), signatures: sig.split(' '), body, type: parsed.type ?? '', data: parsed.data ?? {},
        verified: receiver.secret !== '' && verifySignature(receiver.secret, id, ts, body, sig),
        n: receiver.requests.length, at: Date.now(),
      };
      receiver.requests.push(r);
      const a = receiver.answer(r);
      if (a.hang) return; // never answers: the sender's timeout (or death) ends it
      if (a.delayMs) await new Promise((resolve) => setTimeout(resolve, a.delayMs));
      const status = a.status ?? 204;
      if (status >= 200 && status < 300) okIds.push(r);
      res.writeHead(status, a.headers ?? {});
      res.end(a.body ?? '');
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}/hooks`;
  return receiver;
}
