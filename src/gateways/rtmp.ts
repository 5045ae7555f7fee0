// RTMP ingest: nginx-rtmp takes the connections on one port; every publish is
// put to the callback server below (127.0.0.1 only) before nginx accepts it,
// and the answer decides: 2xx publishes, anything else refuses at connect time.
// RTMPS publishers come through the same nginx (TLS ended there) and the same
// callbacks: the same protocol, `rtmp`, on the stream.
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Context } from '../context.js';
import { RTMPS_PROXY_ADDRESS, startNginxRtmp, type NginxRtmp } from './nginx-rtmp.js';
import { PublisherSet } from './publishers.js';

/** How long the reader looks for a publish's streams, and how many bytes it may read doing so. */
const ANALYZE_US = 12_000_000;
const PROBE_BYTES = 64 * 1024 * 1024;

/** How long a publish waits for its reader to join before it starts anyway. */
const READER_JOIN_MS = 3000;

/** Readers joining streams as players, told to the publish callbacks waiting for them. */
class ReaderArrivals {
  private readonly waiting = new Map<string, Array<() => void>>();

  /** Resolves when a reader joins the stream, or after `ms`. */
  joined(streamKey: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        const list = this.waiting.get(streamKey)?.filter((f) => f !== done) ?? [];
        if (list.length > 0) this.waiting.set(streamKey, list);
        else this.waiting.delete(streamKey);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiting.set(streamKey, [...(this.waiting.get(streamKey) ?? []), done]);
    });
  }

  arrived(streamKey: string): void {
    for (const done of this.waiting.get(streamKey) ?? []) done();
  }
}

export interface RtmpGateway {
  port: number;
  publishers: PublisherSet;
  close(): Promise<void>;
}

export async function startRtmpGateway(ctx: Context, ingestBase: () => string): Promise<RtmpGateway> {
  const { rtmpPort: port, rtmpsPort, rtmpsCertFile, rtmpsKeyFile } = ctx.config;
  let nginx: NginxRtmp | undefined;
  const publishers = new PublisherSet(ctx, {
    protocol: 'rtmp',
    ingestTarget: (key) => `${ingestBase()}/ingest/${key}/`,
    // Played back from nginx on loopback; rtmp_live: a live stream, never seek.
    // The reader joins a moment after the publish began: it gets audio at once
    // but video only from the next keyframe, and encoders send one every 2 to
    // 10 s (OBS's "auto" is long). ffmpeg ends its analysis as soon as every
    // stream the FLV header announces has shown, so this window costs an
    // audio-and-video publish one GOP; only an audio-only one waits it out.
    // Shorter than the GOP, the publish would be packaged as audio alone.
    input: (key) => ({
      input: `rtmp://127.0.0.1:${port}/in/${key}`,
      inputOptions: ['-rtmp_live', 'live', '-analyzeduration', String(ANALYZE_US), '-probesize', String(PROBE_BYTES)],
    }),
    kick: async (key) => nginx?.dropPublisher(key),
  });

  const readers = new ReaderArrivals();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://callback');
    const q = url.searchParams;
    const name = q.get('name') ?? '';
    const connection = q.get('clientid') ?? '';
    const answer = (status: number, text = '') => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(text);
    };
    void (async () => {
      if (url.pathname === '/rtmp/publish') {
        // nginx only knows the application `in`; anything else never gets here.
        if (q.get('app') !== 'in') return answer(404, 'unknown application');
        // Over RTMPS nginx passes the connection on from its own address, not the client's.
        const addr = q.get('addr') ?? '';
        const admission = await publishers.admit(name, addr === RTMPS_PROXY_ADDRESS ? 'rtmps' : addr);
        if (!admission.ok) return answer(admission.status, admission.reason);
        // The publish starts once we answer. Our reader joins as a player
        // first, so it gets the publish from its first keyframe: a reader that
        // joined after it would wait a whole GOP for the next one, and that
        // GOP would be lost to the DVR.
        const reader = readers.joined(name, READER_JOIN_MS);
        await publishers.begin(name, connection, admission.stream);
        await reader;
        return answer(200, 'ok');
      }
      if (url.pathname === '/rtmp/play') {
        // Only the packager's reader plays (nginx allows play from 127.0.0.1 alone).
        if (q.get('addr') !== '127.0.0.1') return answer(403, 'play is for the service only');
        readers.arrived(name);
        return answer(200, 'ok');
      }
      if (url.pathname === '/rtmp/publish_done') {
        await publishers.end(name, connection);
        return answer(200, 'ok');
      }
      return answer(404, 'not found');
    })().catch((err) => {
      ctx.log.error({ err }, 'rtmp callback failed');
      answer(500, 'error');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const callbackBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    nginx = await startNginxRtmp({
      dir: path.join(ctx.config.dataDir, 'gateways', `rtmp-${port}`),
      host: ctx.config.host,
      port,
      callbackBase,
      tls: rtmpsPort > 0 ? { port: rtmpsPort, certFile: rtmpsCertFile, keyFile: rtmpsKeyFile } : undefined,
      log: ctx.log,
    });
  } catch (err) {
    server.close();
    throw err;
  }

  return {
    port,
    publishers,
    async close() {
      // Packagers first (their last chunk goes out), then nginx, then the callbacks.
      await publishers.closeAll();
      await nginx?.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
