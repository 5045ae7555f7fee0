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
        await publishers.begin(name, connection, admission.stream);
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
