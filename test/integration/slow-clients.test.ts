// Slow and stalled clients over raw sockets against the listening service:
// trickled headers and trickled bodies are cut off after their limits (an
// encoder's upload gets the longer one), and uploads in flight are bounded
// per stream and in all (503 with Retry-After past the bound, so encoders retry).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamView } from '../../src/dvr/streams.js';
import { fixtureChunkBytes, ladder, startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
let port: number;
let streams: StreamView[];

const HEADERS_MS = 1500;
const REQUEST_MS = 2000;
const INGEST_MS = 5000;

beforeAll(async () => {
  h = await startHarness({
    env: {
      HEADERS_TIMEOUT_MS: String(HEADERS_MS), REQUEST_TIMEOUT_MS: String(REQUEST_MS), INGEST_TIMEOUT_MS: String(INGEST_MS),
      MAX_UPLOADS_PER_STREAM: '2', MAX_UPLOADS: '3',
    },
  });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  port = (h.app.server.address() as net.AddressInfo).port;
  streams = [await h.createStream({ name: 'one' }), await h.createStream({ name: 'two' })];
});
afterAll(async () => {
  await h?.close();
});

interface Trickler {
  /** Everything the server sent. */
  received(): string;
  /** Resolves with ms since open once the server closed the connection. */
  closed: Promise<number>;
  isClosed(): boolean;
  stop(): void;
}

/** Opens a connection, sends `head` at once, then one byte of `rest` every `everyMs`. */
function trickle(head: string, rest: string, everyMs: number): Trickler {
  const opened = Date.now();
  const sock = net.connect(port, '127.0.0.1');
  let text = '';
  let done = false;
  let i = 0;
  sock.on('data', (d) => (text += d));
  sock.on('error', () => undefined);
  sock.write(head);
  const timer = setInterval(() => {
    if (i < rest.length && !sock.destroyed) sock.write(rest[i++]);
  }, everyMs);
  const closed = new Promise<number>((resolve) => sock.once('close', () => {
    done = true;
    clearInterval(timer);
    resolve(Date.now() - opened);
  }));
  return { received: () => text, closed, isClosed: () => done, stop: () => { clearInterval(timer); sock.destroy(); } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Bounds are generous (the server checks once a second): what matters is that the connection does not live on. */
const SLACK_MS = 6000;

function ingestPath(stream: StreamView, file: string): string {
  return `${new URL(stream.push_url_hls).pathname}${file}`;
}

describe('slow clients', () => {
  it('trickled headers are cut off after HEADERS_TIMEOUT_MS', async () => {
    const t = trickle('POST /api/v3/authenticate HTTP/1.1\r\nHost: x\r\n', 'X-Slow: ' + 'a'.repeat(200), 300);
    const ms = await Promise.race([t.closed, sleep(HEADERS_MS + SLACK_MS).then(() => -1)]);
    t.stop();
    expect(ms).toBeGreaterThan(0);
    expect(t.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('a trickled API body is cut off after REQUEST_TIMEOUT_MS with a 408', async () => {
    const body = JSON.stringify({ username: 'someone', password: 'x'.repeat(100) });
    const t = trickle(
      `POST /api/v3/authenticate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      body, 300,
    );
    const ms = await Promise.race([t.closed, sleep(REQUEST_MS + SLACK_MS).then(() => -1)]);
    t.stop();
    expect(ms).toBeGreaterThanOrEqual(REQUEST_MS - 100);
    expect(t.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('an upload gets the longer INGEST_TIMEOUT_MS, then is cut off too', async () => {
    const chunk = fixtureChunkBytes(0, 0).toString('latin1');
    const t = trickle(
      `PUT ${ingestPath(streams[0], ladder()[0][0].file)} HTTP/1.1\r\nHost: x\r\nContent-Length: ${chunk.length}\r\n\r\n`,
      chunk, 200,
    );
    await sleep(REQUEST_MS + 1500);
    expect(t.isClosed()).toBe(false); // past the API limit, within its own
    const ms = await Promise.race([t.closed, sleep(INGEST_MS + SLACK_MS).then(() => -1)]);
    t.stop();
    expect(ms).toBeGreaterThanOrEqual(INGEST_MS - 100);
  });

  it('uploads in flight are bounded per stream and in all; a freed slot takes the next upload', async () => {
    const chunk = fixtureChunkBytes(0, 1);
    const open = (stream: StreamView, n: number) => trickle(
      `PUT ${ingestPath(stream, `slow_${n}.ts`)} HTTP/1.1\r\nHost: x\r\nContent-Length: ${chunk.length}\r\n\r\n`, 'x'.repeat(50), 500,
    );
    const a1 = open(streams[0], 1);
    const a2 = open(streams[0], 2);
    await sleep(300);
    const put = (stream: StreamView) => fetch(`http://127.0.0.1:${port}${ingestPath(stream, ladder()[0][1].file)}`, {
      method: 'PUT', body: new Uint8Array(chunk),
    });
    const third = await put(streams[0]);
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBeTruthy();
    expect(await third.json()).toMatchObject({ statusCode: 503 });

    const b1 = open(streams[1], 3); // the third upload in all
    await sleep(300);
    const fourth = await put(streams[1]);
    expect(fourth.status).toBe(503);

    a1.stop();
    await sleep(300);
    const afterFree = await put(streams[1]);
    expect(afterFree.status).toBe(204);
    for (const t of [a2, b1]) t.stop();
  });
});
