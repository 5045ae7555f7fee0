// The gateways of one process: RTMP (nginx-rtmp), SRT (one UDP port routed by
// streamid) and the HLS puller. Each has one lifecycle, start and close; the
// first two end in the same HTTP ingest an external encoder uses.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Context } from '../context.js';
import { killAllGatewayChildren } from './packager.js';
import { startPullManager, type PullManager } from './pull-manager.js';
import { startRtmpGateway, type RtmpGateway } from './rtmp.js';
import { startSrtGateway, type SrtGateway } from './srt.js';

export interface Gateways {
  rtmp?: RtmpGateway;
  srt?: SrtGateway;
  pull: PullManager;
  /** Process ids of every packaging child (for the benchmark). */
  pids(): number[];
  close(): Promise<void>;
}

/** The service's own HTTP ingest on loopback, wherever the app listens now. */
export function loopbackIngestBase(ctx: Context, app: FastifyInstance): () => string {
  return () => {
    const address = app.server.address() as AddressInfo | string | null;
    const port = address && typeof address === 'object' ? address.port : ctx.config.port;
    return `http://127.0.0.1:${port}`;
  };
}

/**
 * RTMP and SRT take one port each, so with API_PROCESSES > 1 only the first
 * api process (main.ts sets DVR_API_PROCESS) runs them; its packagers push
 * through the shared HTTP port like any encoder. Every process pulls (leases decide).
 */
function ownsGatewayPorts(): boolean {
  const index = process.env.DVR_API_PROCESS;
  return index === undefined || index === '' || index === '1';
}

export async function startGateways(ctx: Context, ingestBase: () => string): Promise<Gateways> {
  let rtmp: RtmpGateway | undefined;
  const owner = ownsGatewayPorts();
  if (owner && ctx.config.rtmpPort > 0) {
    try {
      rtmp = await startRtmpGateway(ctx, ingestBase);
    } catch (err) {
      // The API still serves (HTTP push works); the log says what to install or free.
      ctx.log.error({ err: (err as Error).message }, 'RTMP ingest not started');
    }
  }
  let srt: SrtGateway | undefined;
  if (owner && ctx.config.srtPort > 0) {
    try {
      srt = await startSrtGateway(ctx, ingestBase);
    } catch (err) {
      ctx.log.error({ err: (err as Error).message }, 'SRT ingest not started');
    }
  }
  const pull = startPullManager(ctx);
  return {
    rtmp,
    srt,
    pull,
    pids: () => [...(rtmp?.publishers.pids() ?? []), ...(srt?.publishers.pids() ?? [])],
    async close() {
      await pull.close();
      await rtmp?.close();
      await srt?.close();
      killAllGatewayChildren();
    },
  };
}
