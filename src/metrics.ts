// Prometheus metrics. Counters are bumped where the work happens; gauges
// that need Redis are read when /metrics is scraped.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

/** Answers of the fast playlist path not yet added to its counter. */
export const fromMemory = {
  pending: 0,
  take(): number {
    const n = this.pending;
    this.pending = 0;
    return n;
  },
};

export const metrics = {
  ingestChunks: new Counter({ name: 'dvr_ingest_chunks_total', help: 'Chunks received from encoders', registers: [registry] }),
  ingestBytes: new Counter({ name: 'dvr_ingest_bytes_total', help: 'Chunk bytes received from encoders', registers: [registry] }),
  ingestPlaylists: new Counter({ name: 'dvr_ingest_playlists_total', help: 'Playlists received from encoders', registers: [registry] }),
  playlistsFromMemory: new Counter({
    name: 'dvr_playlists_from_memory_total', help: 'Ready clip playlists answered from memory before routing (src/routes/fast-playback.ts)', registers: [registry],
    // Counted in a plain number on that path (tens of thousands a second), added here when read.
    collect() {
      this.inc(fromMemory.take());
    },
  }),
  clipsCreated: new Counter({ name: 'dvr_clips_created_total', help: 'Clips created', registers: [registry] }),
  clipsFinalized: new Counter({
    name: 'dvr_clips_finalized_total', help: 'Clips finalized, by outcome', labelNames: ['status'] as const, registers: [registry],
  }),
  webhookDeliveries: new Counter({
    name: 'dvr_webhook_deliveries_total', help: 'Webhook delivery attempts, by outcome (delivered, failed, given_up)',
    labelNames: ['outcome'] as const, registers: [registry],
  }),
  webhookQueueDepth: new Gauge({ name: 'dvr_webhook_queue_depth', help: 'Webhook delivery jobs waiting, delayed or running', registers: [registry] }),
  webhookOldestAge: new Gauge({
    name: 'dvr_webhook_oldest_undelivered_seconds', help: 'Age of the oldest event not delivered yet (0: none)', registers: [registry],
  }),
  remuxSeconds: new Histogram({
    name: 'dvr_mp4_remux_seconds', help: 'Time to remux a clip to MP4', buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60], registers: [registry],
  }),
  // Gateways (RTMP, SRT) and the HLS puller, by protocol.
  gatewayPublishes: new Counter({
    name: 'dvr_gateway_publishes_total', help: 'Publish attempts on the gateways, by protocol and outcome',
    labelNames: ['protocol', 'outcome'] as const, registers: [registry],
  }),
  gatewayLive: new Gauge({
    name: 'dvr_gateway_live_publishers', help: 'Publishers being packaged now, by protocol', labelNames: ['protocol'] as const, registers: [registry],
  }),
  gatewayPackagerFailures: new Counter({
    name: 'dvr_gateway_packager_failures_total', help: 'Packaging ffmpeg runs that ended in an error, by protocol',
    labelNames: ['protocol'] as const, registers: [registry],
  }),
  pullChunks: new Counter({ name: 'dvr_pull_chunks_total', help: 'Chunks fetched from HLS origins', registers: [registry] }),
  pullErrors: new Counter({ name: 'dvr_pull_errors_total', help: 'Failed fetches from HLS origins', registers: [registry] }),
  pullStreams: new Gauge({ name: 'dvr_pull_streams', help: 'Streams this process pulls now', registers: [registry] }),
};
